package tortest

import "syscall"

// sysProcAttr puts each tor in its own process group, so a Ctrl-C at the
// terminal reaches only the test binary, and has the kernel kill the tor when
// the test binary dies, however it dies. The parent-death signal follows the
// OS thread that started the process; Go keeps such threads alive unless a
// goroutine exits while locked to one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
