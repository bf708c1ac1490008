// Package s3control is the sandbox's stand-in for the S3 Control API's account-level
// Block Public Access (s3-control.amazonaws.com, /v20180820/configuration/publicAccessBlock).
//
// It models:
//
//   - Get/Put/DeletePublicAccessBlock for the one account, named by the
//     x-amz-account-id header as the SDK sends it, in S3 Control's XML, with its
//     NoSuchPublicAccessBlockConfiguration error and AccessDenied for another account;
//
//   - every accepted change logged with its moment (Changes), and ConfigAt answering
//     what the account held at any moment, so the website endpoints can enforce the
//     account's settings after the same propagation delay as a bucket's.
//
//   - IAM: with Authorize (the sandbox's iam), a caller whose policy does not allow the
//     action is denied (AccessDenied).
//
// It does not model yet: organization-level policies (the effective configuration
// inheriting from AWS Organizations), access points, Multi-Region Access Points
// and every other S3 Control operation.
package s3control

import (
	"encoding/xml"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/iam"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

// Path is the account-level configuration's resource path.
const Path = "/v20180820/configuration/publicAccessBlock"

// Change is one accepted Put or Delete; Config nil means deleted.
type Change struct {
	At     time.Time
	Config *drill.PublicAccessBlock
}

// Service is S3 Control for one account. Safe for concurrent use.
type Service struct {
	account string
	// Authorize, when set, reports whether a principal (the SigV4 access key id) may do
	// an IAM action on a resource; the account-level actions have no resource type: "*".
	Authorize func(principal, action, resource string) bool
	mu        sync.Mutex
	start     *drill.PublicAccessBlock
	changes   []Change
}

// New is the account's S3 Control with a starting configuration (nil: none).
func New(account string, start *drill.PublicAccessBlock) *Service {
	return &Service{account: account, start: clone(start)}
}

// Account is the account ID the service answers for.
func (s *Service) Account() string { return s.account }

// Set changes the configuration now, as a Put (or a Delete when p is nil) would.
func (s *Service) Set(p *drill.PublicAccessBlock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, Change{At: time.Now(), Config: clone(p)})
}

// ConfigAt is the configuration the account held at t; nil if none.
func (s *Service) ConfigAt(t time.Time) *drill.PublicAccessBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.changes) - 1; i >= 0; i-- {
		if !s.changes[i].At.After(t) {
			return clone(s.changes[i].Config)
		}
	}
	return clone(s.start)
}

// Changes lists the accepted changes, oldest first.
func (s *Service) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Change, len(s.changes))
	for i, c := range s.changes {
		out[i] = Change{At: c.At, Config: clone(c.Config)}
	}
	return out
}

type pabXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// ServeHTTP answers the account-level configuration's three operations.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s3wire.SetHeaders(w)
	if r.URL.Path != Path {
		writeError(w, r, http.StatusNotImplemented, s3wire.Error{Code: "NotImplemented", Message: "the sandbox implements only the account's public access block"})
		return
	}
	if acct := r.Header.Get("x-amz-account-id"); acct != s.account {
		writeError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: "Access Denied for account " + acct})
		return
	}
	action := map[string]string{http.MethodGet: "s3:GetAccountPublicAccessBlock", http.MethodPut: "s3:PutAccountPublicAccessBlock",
		http.MethodDelete: "s3:PutAccountPublicAccessBlock"}[r.Method]
	if principal := iam.Principal(r); action != "" && s.Authorize != nil && !s.Authorize(principal, action, "*") {
		writeError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: iam.DeniedMessage(principal, action, "*")})
		return
	}
	switch r.Method {
	case http.MethodGet:
		p := s.ConfigAt(time.Now())
		if p == nil {
			writeError(w, r, http.StatusNotFound, s3wire.Error{Code: "NoSuchPublicAccessBlockConfiguration", Message: "The public access block configuration was not found"})
			return
		}
		s3wire.WriteXML(w, pabXML{Xmlns: "http://awss3control.amazonaws.com/doc/2018-08-20/", BlockPublicAcls: p.BlockPublicAcls,
			IgnorePublicAcls: p.IgnorePublicAcls, BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, s3wire.MaxBody))
		var doc pabXML
		if err == nil {
			err = xml.Unmarshal(body, &doc)
		}
		if err != nil {
			writeError(w, r, http.StatusBadRequest, s3wire.Error{Code: "MalformedXML", Message: "The XML you provided was not well-formed"})
			return
		}
		s.Set(&drill.PublicAccessBlock{BlockPublicAcls: doc.BlockPublicAcls, IgnorePublicAcls: doc.IgnorePublicAcls,
			BlockPublicPolicy: doc.BlockPublicPolicy, RestrictPublicBuckets: doc.RestrictPublicBuckets})
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		s.Set(nil)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, r, http.StatusMethodNotAllowed, s3wire.Error{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."})
	}
}

// writeError answers S3 Control's error document, which, unlike S3's, wraps the error
// in <ErrorResponse><Error>...</Error><RequestId/><HostId/></ErrorResponse>.
func writeError(w http.ResponseWriter, r *http.Request, status int, e s3wire.Error) {
	type errorResponse struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
		HostID    string   `xml:"HostId"`
	}
	body, _ := xml.Marshal(errorResponse{Code: e.Code, Message: e.Message, RequestID: w.Header().Get("x-amz-request-id"), HostID: "sandbox"})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(append([]byte(xml.Header), body...))
	}
}

func clone(p *drill.PublicAccessBlock) *drill.PublicAccessBlock {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
