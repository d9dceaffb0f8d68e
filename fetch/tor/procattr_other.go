//go:build !linux

package tor

import (
	"os"
	"syscall"
)

// sysProcAttr is nil outside Linux; tor still exits when grab's control
// connection closes (TAKEOWNERSHIP) or grab's pid is gone
// (__OwningControllerProcess).
func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { p.Kill() }
