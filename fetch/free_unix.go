//go:build unix

package fetch

import "syscall"

// freeSpace is the space left to an unprivileged user on the disk
// holding dir; ok is false when it cannot be told.
func freeSpace(dir string) (free int64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
