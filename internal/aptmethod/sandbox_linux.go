package aptmethod

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// DropPrivileges switches a method started as root to the sandbox user, as
// APT's own methods do (APT::Sandbox::User, "_apt" by default), so that
// the code parsing network data does not run as root. It does nothing when
// not root, when the user is "root", or when the user does not exist (APT
// then runs every method as root, and warns about it itself).
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
