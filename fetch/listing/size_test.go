package listing

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in     string
		size   int64
		approx bool
		ok     bool
	}{
		{"123456", 123456, false, true},
		{"  123456  ", 123456, false, true},
		{"0", 0, false, true},
		{"1,234,567", 1234567, false, true},
		{"512 bytes", 512, false, true},
		{"512 B", 512, false, true},
		{"512b", 512, false, true},
		{"1.2M", 1258291, true, true},
		{"1.2 MB", 1258291, true, true},
		{"1.2 MiB", 1258291, true, true},
		{"14K", 14336, true, true},
		{"977k", 1000448, true, true},
		{"3.5G", 3758096384, true, true},
		{"3.5 GB", 3758096384, true, true},
		{"2T", 2199023255552, true, true},
		{"1P", 1125899906842624, true, true},
		{"7E", 8070450532247928832, true, true},
		{"0.0K", 0, true, true},
		{"12.0K", 12288, true, true},
		{"9.8K", 10035, true, true},
		{"4.8 MiB", 5033165, true, true},
		{"9223372036854775807", 9223372036854775807, false, true},
		{"9223372036854775808", -1, false, false},
		{"8E", -1, false, false},
		{"-", -1, false, false},
		{"", -1, false, false},
		{"- \u00a0", -1, false, false},
		{"—", -1, false, false},
		{"-5", -1, false, false},
		{"1.5 bytes", -1, false, false},
		{"1.K", -1, false, false},
		{".5K", -1, false, false},
		{"12 apples", -1, false, false},
		{"1,23", -1, false, false},
		{"1,234.5K", -1, false, false},
		{"12KBB", -1, false, false},
		{"1.2.3M", -1, false, false},
		{"12345678901234567890123456789012345678901234567890123456789012345", -1, false, false},
	}
	for _, tt := range tests {
		size, approx, ok := ParseSize(tt.in)
		if size != tt.size || approx != tt.approx || ok != tt.ok {
			t.Errorf("ParseSize(%q) = %d, %t, %t; want %d, %t, %t", tt.in, size, approx, ok, tt.size, tt.approx, tt.ok)
		}
	}
}
