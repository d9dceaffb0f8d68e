package tor

import (
	"os"
	"syscall"
)

// sysProcAttr puts tor in its own process group, so a Ctrl-C at the terminal
// reaches only grab, and has the kernel send tor SIGTERM (a clean exit that
// saves its state) when grab dies, however it dies. The parent-death signal
// follows the OS thread that started tor; Go keeps such threads alive unless
// a goroutine exits while locked to one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// killGroup sends SIGKILL to p's process group.
func killGroup(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		p.Kill()
	}
}
