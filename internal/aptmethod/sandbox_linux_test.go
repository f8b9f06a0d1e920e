package aptmethod

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDropPrivilegesNoOps(t *testing.T) {
	uid := os.Geteuid()
	for _, name := range []string{"", "root", "no-such-user-debtorrent"} {
		require.NoError(t, DropPrivileges(name), name)
		assert.Equal(t, uid, os.Geteuid(), name)
	}
}

// TestDropPrivileges switches a child process (this test binary again)
// from root to "nobody", since a process cannot switch back.
func TestDropPrivileges(t *testing.T) {
	if os.Getenv("APTMETHOD_DROP_CHILD") == "1" {
		if err := DropPrivileges("nobody"); err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("uid=%d gid=%d\n", os.Geteuid(), os.Getegid())
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("dropping privileges needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody on this system")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropPrivileges$")
	cmd.Env = append(os.Environ(), "APTMETHOD_DROP_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), fmt.Sprintf("uid=%s gid=%s\n", nobody.Uid, nobody.Gid))
	assert.False(t, strings.Contains(string(out), "error:"), string(out))
}
