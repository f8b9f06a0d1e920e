package bencode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// These few helpers keep the tests on the standard library alone.

func noErr(t testing.TB, err error, context ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v %v", err, context)
	}
}

func equal(t testing.TB, want, got any, context ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("not equal %v\nwant: %#v\ngot:  %#v", context, want, got)
	}
}

func contains(t testing.TB, s, sub string, context ...any) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q %v", s, sub, context)
	}
}

func errContains(t testing.TB, err error, sub string, context ...any) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want one containing %q %v", sub, context)
		return
	}
	contains(t, err.Error(), sub, context...)
}

func errAs(t testing.TB, err error, target any, context ...any) {
	t.Helper()
	if err == nil || !errors.As(err, target) {
		t.Fatalf("error %v is not a %T %v", err, target, context)
	}
}
