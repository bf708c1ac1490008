package loopback

import (
	"io"
	"net/http"
	"testing"
)

func TestDownUpClose(t *testing.T) {
	sv, err := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		res, err := http.Get(sv.URL() + "/")
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("up: %v", err)
	}
	sv.Down()
	if err := get(); err == nil {
		t.Fatal("down: still answers")
	}
	addr := sv.Addr()
	if err := sv.Up(); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if sv.Addr() != addr {
		t.Errorf("address changed %s -> %s", addr, sv.Addr())
	}
	if err := get(); err != nil {
		t.Fatalf("back up: %v", err)
	}
	if err := sv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sv.Up(); err != nil || get() == nil {
		t.Errorf("Up after Close revived the server (err %v)", err)
	}
}
