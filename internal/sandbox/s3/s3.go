// Package s3 is the sandbox's stand-in for Amazon S3's REST API: one Service holds every
// bucket, and each region has its own path-style endpoint (Handler) that knows only its
// region's buckets.
//
// It models:
//
//   - Get/Put/DeletePublicAccessBlock with S3's XML, its NoSuchPublicAccessBlockConfiguration
//     error, and absent flags read as false; every accepted change is logged with the
//     moment it was written (Changes), and PublicAccessBlockAt answers what the bucket
//     held at any moment, for the website's propagation;
//
//   - objects: Get/Head/Put/DeleteObject and ListObjectsV2 (prefix, delimiter with
//     CommonPrefixes, start-after, max-keys, continuation, encoding-type=url: what
//     `aws s3 ls s3://bucket/prefix/` asks for), with the conditional writes S3 offers (PutObject If-None-Match: * and
//     If-Match, DeleteObject If-Match → 412 PreconditionFailed) and aws-chunked bodies;
//
//   - a bucket addressed at another region's endpoint: 301 PermanentRedirect with
//     x-amz-bucket-region, as S3 answers;
//
//   - injected faults (an S3 error document for a status) and delays that still carry out
//     the call after the client gave up, as S3 may apply a request whose client timed out.
//
//   - IAM: every call is authorized (Options.Authorize, the sandbox's iam package) for
//     the principal that signed it, on S3's action and resource (the bucket's ARN, or
//     the object's); a denied call answers 403 AccessDenied, a GET of a missing key
//     answers 403 instead of 404 to a caller without s3:ListBucket, and a PutObject
//     with If-Match, or a DeleteObject with If-Match on an ETag, also needs
//     s3:GetObject on the object, as S3 documents;
//
//   - 409 ConditionalRequestConflict on conditional writes and deletes (SetConflicts:
//     every conditional call on a key loses its first race; or a "Conditional" fault);
//
//   - ListBuckets: every bucket, from any region's endpoint (s3:ListAllMyBuckets on *);
//
//   - lifecycle expiry, as a test hook (Expire).
//
// It does not model yet: signature verification, account-level Block Public Access (S3
// Control), expiry on a schedule, ListObjects v1, ListBuckets' paging and filters,
// bucket policies and ACLs (public access comes only from the website's assumed
// public-read policy), eventual
// consistency of the control plane itself, and versioning. The ledger bucket is
// versioned on AWS; no call of the drill names a version, and for those calls a
// versioned bucket behaves as this one does: a delete leaves a delete marker, which
// reads as 404 NoSuchKey (403 without s3:ListBucket) and lists as nothing; If-Match
// and If-None-Match compare the current version only (a delete marker is no object:
// If-None-Match: * succeeds over it, If-Match finds no object); ETags are per content, as here.
// Only the lifecycle's noncurrent versions differ (kept, then expired by
// TidyLockVersions/ExpireRuns), which no code path reads.
package s3

import (
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/inject"
	"github.com/unishop/failover-drill/internal/sandbox/loopback"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

// Ops are the operations the stand-in implements, the names faults and delays are
// armed by.
var Ops = []string{"GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock", "GetObject", "HeadObject", "PutObject", "DeleteObject", "ListObjectsV2", "HeadBucket"}

// errorCodes maps a status to the S3 error code an injected fault answers with.
var errorCodes = map[int]string{
	400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed",
	409: CodeConflict, 412: "PreconditionFailed", 500: "InternalError",
	501: "NotImplemented", 503: "SlowDown",
}

// PABChange is one accepted Put/DeletePublicAccessBlock, At being the moment it was
// written (the website's propagation delay counts from there).
type PABChange struct {
	At     time.Time
	Bucket string
	Op     string // "put" | "delete"
	Config *drill.PublicAccessBlock
}

// Options configure a Service.
type Options struct {
	// Faults and Delays are armed by the sandbox's FailNext and DelayNext, by op name
	// (Ops); nil means none.
	Faults *inject.Countdown[int]
	Delays *inject.Countdown[time.Duration]
	// Endpoint is region's endpoint host ("127.0.0.1:port"), named in a PermanentRedirect.
	Endpoint func(region string) string
	// Logger receives a debug line per request; nil discards.
	Logger *slog.Logger
	// Authorize reports whether a principal may do an IAM action on a resource; nil
	// allows everything.
	Authorize func(principal, action, resource string) bool
}

// Service is S3: every bucket of every region. Safe for concurrent use.
type Service struct {
	opt Options
	log *slog.Logger

	mu         sync.Mutex
	buckets    map[string]*bucket
	changes    []PABChange
	conflicts  bool            // SetConflicts
	conflicted map[string]bool // bucket/key -> its last conditional call answered 409
	created    time.Time       // every bucket's CreationDate: when the Service was made
}

type bucket struct {
	name, region string
	pab          *drill.PublicAccessBlock // stored configuration, nil = none
	start        *drill.PublicAccessBlock // the configuration before any logged change
	objects      map[string]s3wire.Object
}

// New is an S3 with no buckets.
func New(opt Options) *Service {
	if opt.Faults == nil {
		opt.Faults = &inject.Countdown[int]{}
	}
	if opt.Delays == nil {
		opt.Delays = &inject.Countdown[time.Duration]{}
	}
	if opt.Endpoint == nil {
		opt.Endpoint = func(string) string { return "" }
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{opt: opt, log: log, buckets: map[string]*bucket{}, conflicted: map[string]bool{}, created: time.Now()}
}

// CreateBucket adds an empty bucket in region with a starting Block Public Access
// configuration (nil: none). Creating an existing bucket replaces it.
func (s *Service) CreateBucket(name, region string, pab *drill.PublicAccessBlock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &bucket{name: name, region: region, pab: clonePAB(pab), start: clonePAB(pab), objects: map[string]s3wire.Object{}}
}

// PutObject stores an object directly (seeding, not a request: no log, no faults).
// It panics on an unknown bucket, a caller's bug.
func (s *Service) PutObject(bucket, key string, data []byte, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustBucket(bucket).objects[key] = s3wire.NewObject(slices.Clone(data), contentType)
}

// Object is the stored object; false if it or the bucket does not exist. Its Data must
// not be modified.
func (s *Service) Object(bucket, key string) (s3wire.Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return s3wire.Object{}, false
	}
	o, ok := b.objects[key]
	return o, ok
}

// PublicAccessBlock is the bucket's stored configuration (what GetPublicAccessBlock
// answers); false if none or no such bucket.
func (s *Service) PublicAccessBlock(bucket string) (*drill.PublicAccessBlock, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok || b.pab == nil {
		return nil, false
	}
	return clonePAB(b.pab), true
}

// PublicAccessBlockAt is the configuration the bucket held at t: the latest change
// written at or before t, else its starting configuration; nil if none.
func (s *Service) PublicAccessBlockAt(bucket string, t time.Time) *drill.PublicAccessBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.changes) - 1; i >= 0; i-- {
		c := s.changes[i]
		if c.Bucket == bucket && !c.At.After(t) {
			return clonePAB(c.Config)
		}
	}
	if b, ok := s.buckets[bucket]; ok {
		return clonePAB(b.start)
	}
	return nil
}

// Changes lists every accepted PAB change, oldest first.
func (s *Service) Changes() []PABChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PABChange, len(s.changes))
	for i, c := range s.changes {
		c.Config = clonePAB(c.Config)
		out[i] = c
	}
	return out
}

func (s *Service) mustBucket(name string) *bucket {
	b, ok := s.buckets[name]
	if !ok {
		panic(fmt.Sprintf("sandbox s3: no bucket %q", name))
	}
	return b
}

func clonePAB(p *drill.PublicAccessBlock) *drill.PublicAccessBlock {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// pabXML is S3's PublicAccessBlockConfiguration document. On input an absent flag is
// false, as S3 does.
type pabXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// op names the S3 operation a request is, or "" if the stand-in does not implement it.
func op(method, key string, q url.Values) string {
	if key == "" {
		_, pab := q["publicAccessBlock"]
		switch {
		case pab && method == http.MethodGet:
			return "GetPublicAccessBlock"
		case pab && method == http.MethodPut:
			return "PutPublicAccessBlock"
		case pab && method == http.MethodDelete:
			return "DeletePublicAccessBlock"
		case pab:
			return ""
		case method == http.MethodGet && q.Get("list-type") == "2":
			return "ListObjectsV2"
		case method == http.MethodHead && len(q) == 0:
			return "HeadBucket"
		}
		return ""
	}
	for _, sub := range []string{"acl", "tagging", "uploads", "uploadId", "attributes", "retention", "legal-hold", "torrent", "restore", "select"} {
		if _, ok := q[sub]; ok {
			return ""
		}
	}
	switch method {
	case http.MethodGet:
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		return "PutObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return ""
}

// Handler is region's S3 endpoint, path-style. It does not check signatures.
func (s *Service) Handler(region string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s3wire.SetHeaders(w)
		rec := &loopback.StatusRecorder{ResponseWriter: w}
		s.serve(rec, r, region)
		s.log.Debug("s3", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.Status)
	})
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, region string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		if r.Method != http.MethodGet {
			s3wire.WriteError(w, r, http.StatusNotImplemented, s3wire.Error{Code: "NotImplemented", Message: "the sandbox implements no service-level operation but ListBuckets"})
			return
		}
		s.listBuckets(w, r)
		return
	}
	name, key, _ := strings.Cut(path, "/")
	op := op(r.Method, key, r.URL.Query())

	s.mu.Lock()
	b, ok := s.buckets[name]
	s.mu.Unlock()
	switch {
	case !ok:
		s3wire.WriteError(w, r, http.StatusNotFound, s3wire.Error{Code: "NoSuchBucket", Message: "The specified bucket does not exist", BucketName: name})
		return
	case b.region != region:
		// As S3 does for a bucket addressed at another region's endpoint.
		w.Header().Set("x-amz-bucket-region", b.region)
		s3wire.WriteError(w, r, http.StatusMovedPermanently, s3wire.Error{
			Code:     "PermanentRedirect",
			Message:  "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
			Endpoint: s.opt.Endpoint(b.region), Bucket: name,
		})
		return
	case op == "":
		s3wire.WriteError(w, r, http.StatusNotImplemented, s3wire.Error{Code: "NotImplemented", Message: fmt.Sprintf("the sandbox does not implement %s %s", r.Method, r.URL.RequestURI())})
		return
	}
	if !s.authorize(w, r, op, name, key) {
		return
	}
	if d := s.opt.Delays.Take(op); d > 0 {
		time.Sleep(d) // deliberately not cut short by the client going away
	}
	if status := s.opt.Faults.Take(op); status != 0 {
		code, ok := errorCodes[status]
		if !ok {
			code = "InternalError"
		}
		msg := "injected by sandbox FailNext(" + op + ")"
		if status == http.StatusConflict {
			msg = conflictMessage
		}
		s3wire.WriteError(w, r, status, s3wire.Error{Code: code, Message: msg})
		return
	}
	if s.conflict(w, r, op, name, key) {
		return
	}
	switch op {
	case "GetPublicAccessBlock":
		s.getPAB(w, r, b)
	case "PutPublicAccessBlock":
		s.putPAB(w, r, b)
	case "DeletePublicAccessBlock":
		s.deletePAB(w, b)
	case "ListObjectsV2":
		s.listObjects(w, r, b)
	case "HeadBucket":
		w.Header().Set("x-amz-bucket-region", b.region)
		w.WriteHeader(http.StatusOK)
	case "GetObject", "HeadObject":
		s.getObject(w, r, b, key)
	case "PutObject":
		s.putObject(w, r, b, key)
	case "DeleteObject":
		s.deleteObject(w, r, b, key)
	}
}

func (s *Service) getPAB(w http.ResponseWriter, r *http.Request, b *bucket) {
	s.mu.Lock()
	p := clonePAB(b.pab)
	s.mu.Unlock()
	if p == nil {
		s3wire.WriteError(w, r, http.StatusNotFound, s3wire.Error{Code: "NoSuchPublicAccessBlockConfiguration", Message: "The public access block configuration was not found", BucketName: b.name})
		return
	}
	s3wire.WriteXML(w, pabXML{Xmlns: s3wire.Namespace, BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
}

func (s *Service) putPAB(w http.ResponseWriter, r *http.Request, b *bucket) {
	body, err := readBody(r)
	if err != nil {
		s3wire.WriteError(w, r, http.StatusBadRequest, s3wire.Error{Code: "IncompleteBody", Message: err.Error()})
		return
	}
	var doc pabXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		s3wire.WriteError(w, r, http.StatusBadRequest, s3wire.Error{Code: "MalformedXML", Message: "The XML you provided was not well-formed or did not validate against our published schema"})
		return
	}
	p := &drill.PublicAccessBlock{BlockPublicAcls: doc.BlockPublicAcls, IgnorePublicAcls: doc.IgnorePublicAcls,
		BlockPublicPolicy: doc.BlockPublicPolicy, RestrictPublicBuckets: doc.RestrictPublicBuckets}
	s.mu.Lock()
	b.pab = p
	s.changes = append(s.changes, PABChange{At: time.Now(), Bucket: b.name, Op: "put", Config: clonePAB(p)})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Service) deletePAB(w http.ResponseWriter, b *bucket) {
	s.mu.Lock()
	b.pab = nil
	s.changes = append(s.changes, PABChange{At: time.Now(), Bucket: b.name, Op: "delete"})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
