//go:build !linux

package aptmethod

// DropPrivileges does nothing on this system: the method keeps the user it
// was started as.
func DropPrivileges(name string) error { return nil }
