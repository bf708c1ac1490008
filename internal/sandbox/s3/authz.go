package s3

import (
	"net/http"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

// actions maps each operation to the IAM action S3 authorizes it with, and whether
// its resource is the bucket or the object.
var actions = map[string]struct {
	action   string
	onObject bool
}{
	"GetPublicAccessBlock":    {"s3:GetBucketPublicAccessBlock", false},
	"PutPublicAccessBlock":    {"s3:PutBucketPublicAccessBlock", false},
	"DeletePublicAccessBlock": {"s3:PutBucketPublicAccessBlock", false}, // S3 has no separate delete action
	"ListObjectsV2":           {"s3:ListBucket", false},
	"HeadBucket":              {"s3:ListBucket", false},
	"GetObject":               {"s3:GetObject", true},
	"HeadObject":              {"s3:GetObject", true},
	"PutObject":               {"s3:PutObject", true},
	"DeleteObject":            {"s3:DeleteObject", true},
}

// BucketARN and ObjectARN are the resources S3 authorizes a call on.
func BucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// authorize answers S3's AccessDenied (403) and returns false when the request's
// principal may not do op on the bucket or the object. A write or delete conditional
// on the object's ETag (If-Match) also needs s3:GetObject on the object, as S3
// documents: the caller learns whether its version is the current one.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, op, bucket, key string) bool {
	a := actions[op]
	resource := BucketARN(bucket)
	if a.onObject {
		resource = ObjectARN(bucket, key)
	}
	principal := iam.Principal(r)
	needed := []string{a.action}
	if comparesETag(op, r) {
		needed = append(needed, "s3:GetObject")
	}
	for _, action := range needed {
		if !s.allowed(principal, action, resource) {
			s.log.Info("s3: access denied", "principal", principal, "action", action, "resource", resource, "op", op)
			s3wire.WriteError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: iam.DeniedMessage(principal, action, resource)})
			return false
		}
	}
	return true
}

// comparesETag reports whether op is a PutObject with If-Match ("you must have the
// s3:PutObject and s3:GetObject permissions") or a DeleteObject with If-Match on an
// ETag ("conditional deletes with a specific ETag value require both s3:DeleteObject
// and s3:GetObject"). If-None-Match: * needs s3:PutObject alone.
func comparesETag(op string, r *http.Request) bool {
	v := r.Header.Get("If-Match")
	return op == "PutObject" && v != "" || op == "DeleteObject" && v != "" && v != "*"
}

func (s *Service) allowed(principal, action, resource string) bool {
	return s.opt.Authorize == nil || s.opt.Authorize(principal, action, resource)
}

// missingKey answers a GET or HEAD of a key that does not exist: 404 NoSuchKey to a
// caller who may list the bucket, 403 AccessDenied to one who may not, as S3 does (so
// a caller without s3:ListBucket cannot learn which keys exist).
func (s *Service) missingKey(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	principal := iam.Principal(r)
	if !s.allowed(principal, "s3:ListBucket", BucketARN(b.name)) {
		s3wire.WriteError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: "Access Denied"})
		return
	}
	s3wire.WriteError(w, r, http.StatusNotFound, s3wire.Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: key})
}

// conditional reports whether a write or delete carries If-Match or If-None-Match.
func conditional(op string, r *http.Request) bool {
	return (op == "PutObject" || op == "DeleteObject") && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "")
}

// CodeConflict is what S3 answers a conditional request that raced another one on the
// same key: retry it.
const CodeConflict = "ConditionalRequestConflict"

const conflictMessage = "A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part."

// SetConflicts turns on (or off) S3's 409 for conditional calls: while on, every
// conditional write or delete of a key first answers 409 ConditionalRequestConflict,
// and the next conditional call on that key (the retry) goes through.
func (s *Service) SetConflicts(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conflicts = on
	s.conflicted = map[string]bool{}
}

// conflict answers 409 and returns true when the conflict mode, or an injected
// "Conditional" fault, says this conditional call loses a race.
func (s *Service) conflict(w http.ResponseWriter, r *http.Request, op, bucket, key string) bool {
	if !conditional(op, r) {
		return false
	}
	injected := s.opt.Faults.Take("Conditional") != 0
	s.mu.Lock()
	if s.conflicts && !injected {
		k := bucket + "/" + key
		injected = !s.conflicted[k]
		s.conflicted[k] = injected
	}
	s.mu.Unlock()
	if injected {
		s3wire.WriteError(w, r, http.StatusConflict, s3wire.Error{Code: CodeConflict, Message: conflictMessage, Key: key})
	}
	return injected
}

// Expire deletes bucket's objects under prefix last written before now-age, as a
// lifecycle rule's expiration does (age 0: all of them), and returns their keys.
func (s *Service) Expire(bucket, prefix string, age time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBucket(bucket)
	cutoff := time.Now().Add(-age)
	var gone []string
	for k, o := range b.objects {
		if strings.HasPrefix(k, prefix) && (age == 0 || o.Modified.Before(cutoff)) {
			delete(b.objects, k)
			gone = append(gone, k)
		}
	}
	return gone
}
