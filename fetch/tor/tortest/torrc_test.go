package tortest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.torrc from the code")

var testAuths = []dirAuth{
	{name: "auth0", orPort: 5000, dirPort: 5001, v3ident: "0123456789ABCDEF0123456789ABCDEF01234567", fp: "89ABCDEF0123456789ABCDEF0123456789ABCDEF"},
	{name: "auth1", orPort: 5002, dirPort: 5003, v3ident: "1123456789ABCDEF0123456789ABCDEF01234567", fp: "99ABCDEF0123456789ABCDEF0123456789ABCDEF"},
}

func TestClientTorrc(t *testing.T) {
	const want = `TestingTorNetwork 1
DirAuthority auth0 orport=5000 no-v2 v3ident=0123456789ABCDEF0123456789ABCDEF01234567 127.0.0.1:5001 89ABCDEF0123456789ABCDEF0123456789ABCDEF
DirAuthority auth1 orport=5002 no-v2 v3ident=1123456789ABCDEF0123456789ABCDEF01234567 127.0.0.1:5003 99ABCDEF0123456789ABCDEF0123456789ABCDEF
PathsNeededToBuildCircuits 0.67
ClientUseIPv6 0
`
	if got := clientTorrc(testAuths); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestTorrc compares each kind of node's torrc with testdata/<name>.torrc
// (go test -update rewrites them; review the diff).
func TestTorrc(t *testing.T) {
	for _, nd := range []node{
		{kind: authority, name: "auth0", orPort: 5000, dirPort: 5001},
		{kind: relay, name: "relay3", orPort: 5010},
		{kind: exit, name: "relay0", orPort: 5011},
		{kind: service, name: "hs"},
		{kind: client, name: "client", socksPort: 5020, ctlPort: 5021},
	} {
		t.Run(nd.name, func(t *testing.T) {
			got := torrc(nd, "/net/"+nd.name, testAuths, "127.0.0.1:8080")
			golden := filepath.Join("testdata", nd.name+".torrc")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	o, err := Options{Target: "127.0.0.1:80", Relays: 3}.validate()
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]int, portsNeeded(o))
	for i := range ports {
		ports[i] = 100 + i
	}
	want := []node{
		{kind: authority, name: "auth0", orPort: 100, dirPort: 101},
		{kind: authority, name: "auth1", orPort: 102, dirPort: 103},
		{kind: authority, name: "auth2", orPort: 104, dirPort: 105},
		{kind: exit, name: "relay0", orPort: 106},
		{kind: exit, name: "relay1", orPort: 107},
		{kind: relay, name: "relay2", orPort: 108},
		{kind: service, name: "hs"},
		{kind: client, name: "client", socksPort: 109, ctlPort: 110},
	}
	got := layout(o, ports)
	if len(got) != len(want) {
		t.Fatalf("got %d nodes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("node %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
