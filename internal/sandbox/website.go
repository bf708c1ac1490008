package sandbox

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// seedWebsite writes the UI bucket's objects: config.json naming the region's API, and
// index.html. The website endpoint serves whatever the bucket holds, so a test may
// also replace them through S3.
func (s *Sandbox) seedWebsite(st *site) {
	conf, _ := json.Marshal(map[string]string{"host": st.apiURL, "region": st.name})
	page := fmt.Sprintf("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>The Unicorn Shop - %[1]s</title></head>\n"+
		"<body><h1>The Unicorn Shop - %[1]s</h1><p>Served from the sandbox bucket %[2]s.</p></body></html>\n",
		html.EscapeString(st.name), html.EscapeString(st.bucket))
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[st.bucket]
	b.objects["config.json"] = newObject(conf, "application/json")
	b.objects["index.html"] = newObject([]byte(page), "text/html")
}

// websiteHandler is the S3 website endpoint of region's UI bucket, for anonymous
// visitors (CloudFront reaches it as a custom origin, without credentials).
//
// Public access to a website bucket comes from its bucket policy (s3:GetObject for
// "*"). Of the four Block Public Access flags only RestrictPublicBuckets changes what an
// existing public policy grants: it restricts access to AWS principals and the bucket
// owner, so anonymous reads answer 403 AccessDenied. BlockPublicPolicy only refuses
// *new* public policies, and BlockPublicAcls/IgnorePublicAcls concern ACLs, which this
// bucket does not use for access; so alone they leave the website serving.
func (s *Sandbox) websiteHandler(region, bucket string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-request-id", newRequestID())
		w.Header().Set("x-amz-id-2", "sandbox")
		w.Header().Set("Server", "AmazonS3")
		if !s.waitUnlessHanging(r, region) {
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		s.serveWebsite(rec, r, bucket)
		s.log.Debug("website", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.status)
	})
}

// waitUnlessHanging blocks while region's website is set to hang; false means the
// request went away or the sandbox closed meanwhile.
func (s *Sandbox) waitUnlessHanging(r *http.Request, region string) bool {
	for {
		s.mu.Lock()
		hang := s.hang[region]
		s.mu.Unlock()
		if !hang {
			return true
		}
		select {
		case <-r.Context().Done():
			return false
		case <-s.done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Sandbox) serveWebsite(w http.ResponseWriter, r *http.Request, bucket string) {
	// Access is decided first: a blocked bucket denies every anonymous request.
	s.mu.Lock()
	eff := s.effectivePABLocked(bucket, time.Now())
	s.mu.Unlock()
	if eff != nil && eff.RestrictPublicBuckets {
		writeS3Error(w, r, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Access Denied"})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		writeS3Error(w, r, http.StatusMethodNotAllowed, s3Error{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."})
		return
	}
	if r.Method == http.MethodOptions {
		// As a bucket whose CORS configuration allows GET and HEAD from anywhere.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD")
		w.Header().Set("Access-Control-Max-Age", "3000")
		w.WriteHeader(http.StatusOK)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/") // the query string (cache busting) is ignored
	if key == "" || strings.HasSuffix(key, "/") {
		key += "index.html"
	}
	s.mu.Lock()
	o, ok := s.buckets[bucket].objects[key]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, r, http.StatusNotFound, s3Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: key})
		return
	}
	writeObject(w, r, o)
}
