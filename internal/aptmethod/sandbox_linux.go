package aptmethod

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges switches a method started as root to the sandbox user APT
// named in its configuration (APT::Sandbox::User, "_apt" unless configured),
// as APT's own methods do, so that the code parsing network data does not run
// as root. It does nothing when not root, when name is "" (APT sent no user:
// it decided to run its methods as root, because a target is out of the
// user's reach, and warned about it) or "root", or when the user does not
// exist.
func DropPrivileges(name string) error {
	if os.Geteuid() != 0 || name == "" || name == "root" {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("sandbox user %s: bad uid %q or gid %q", name, u.Uid, u.Gid)
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("sandbox user %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("sandbox user %s: setgid: %w", name, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("sandbox user %s: setuid: %w", name, err)
	}
	if os.Geteuid() == 0 {
		return fmt.Errorf("sandbox user %s: still root after setuid", name)
	}
	return nil
}
