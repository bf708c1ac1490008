package sandbox

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// s3Namespace is the XML namespace of S3's REST API documents.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxBody bounds a request body the sandbox reads.
const maxBody = 16 << 20

type bucket struct {
	name, region string
	pab          *drill.PublicAccessBlock // stored configuration, nil = none
	start        *drill.PublicAccessBlock // what the website enforced before any change
	objects      map[string]object
}

type object struct {
	data        []byte
	etag        string // quoted hex md5
	contentType string
	modified    time.Time
}

func newBucket(name, region string, pab *drill.PublicAccessBlock) *bucket {
	return &bucket{name: name, region: region, pab: clonePAB(pab), start: clonePAB(pab), objects: map[string]object{}}
}

func newObject(data []byte, contentType string) object {
	sum := md5.Sum(data)
	if contentType == "" {
		contentType = "binary/octet-stream" // S3's default
	}
	return object{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, contentType: contentType, modified: time.Now().UTC()}
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

// s3Error is S3's error document.
type s3Error struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	Endpoint   string   `xml:"Endpoint,omitempty"`
	Bucket     string   `xml:"Bucket,omitempty"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
}

// errorCodes maps a status to the S3 error code FailNext answers with.
var errorCodes = map[int]string{
	400: "InvalidRequest", 403: "AccessDenied", 404: "NoSuchKey", 405: "MethodNotAllowed",
	409: "OperationAborted", 412: "PreconditionFailed", 500: "InternalError",
	501: "NotImplemented", 503: "SlowDown",
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// writeS3Error answers S3's XML error document (no body for HEAD).
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, e s3Error) {
	e.RequestID = w.Header().Get("x-amz-request-id")
	e.HostID = "sandbox"
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	body, _ := xml.Marshal(e)
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func writeXML(w http.ResponseWriter, v any) {
	body, _ := xml.Marshal(v)
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// s3Op names the S3 operation a request is, or "" if the sandbox does not implement it.
func s3Op(method, key string, q url.Values) string {
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

// s3Handler is one region's S3 endpoint, path-style. It knows only that region's
// buckets and does not check signatures.
func (s *Sandbox) s3Handler(region string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-request-id", newRequestID())
		w.Header().Set("x-amz-id-2", "sandbox")
		w.Header().Set("Server", "AmazonS3")
		rec := &statusRecorder{ResponseWriter: w}
		s.serveS3(rec, r, region)
		s.log.Debug("s3", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.status)
	})
}

func (s *Sandbox) serveS3(w http.ResponseWriter, r *http.Request, region string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		writeS3Error(w, r, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: "the sandbox implements no service-level operation"})
		return
	}
	name, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	op := s3Op(r.Method, key, q)

	s.mu.Lock()
	b, ok := s.buckets[name]
	s.mu.Unlock()
	switch {
	case !ok:
		writeS3Error(w, r, http.StatusNotFound, s3Error{Code: "NoSuchBucket", Message: "The specified bucket does not exist", BucketName: name})
		return
	case b.region != region:
		// As S3 does for a bucket addressed at another region's endpoint.
		w.Header().Set("x-amz-bucket-region", b.region)
		writeS3Error(w, r, http.StatusMovedPermanently, s3Error{
			Code:     "PermanentRedirect",
			Message:  "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
			Endpoint: s.site(b.region).s3.addr, Bucket: name,
		})
		return
	case op == "":
		writeS3Error(w, r, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: fmt.Sprintf("the sandbox does not implement %s %s", r.Method, r.URL.RequestURI())})
		return
	}
	if d := s.takeDelay(op); d > 0 {
		time.Sleep(d) // deliberately not cut short by the client going away
	}
	if status := s.takeFault(op); status != 0 {
		code, ok := errorCodes[status]
		if !ok {
			code = "InternalError"
		}
		writeS3Error(w, r, status, s3Error{Code: code, Message: "injected by sandbox FailNext(" + op + ")"})
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

func (s *Sandbox) getPAB(w http.ResponseWriter, r *http.Request, b *bucket) {
	s.mu.Lock()
	p := clonePAB(b.pab)
	s.mu.Unlock()
	if p == nil {
		writeS3Error(w, r, http.StatusNotFound, s3Error{Code: "NoSuchPublicAccessBlockConfiguration", Message: "The public access block configuration was not found", BucketName: b.name})
		return
	}
	writeXML(w, pabXML{Xmlns: s3Namespace, BlockPublicAcls: p.BlockPublicAcls, IgnorePublicAcls: p.IgnorePublicAcls,
		BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
}

func (s *Sandbox) putPAB(w http.ResponseWriter, r *http.Request, b *bucket) {
	body, err := readBody(r)
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, s3Error{Code: "IncompleteBody", Message: err.Error()})
		return
	}
	var doc pabXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		writeS3Error(w, r, http.StatusBadRequest, s3Error{Code: "MalformedXML", Message: "The XML you provided was not well-formed or did not validate against our published schema"})
		return
	}
	p := &drill.PublicAccessBlock{BlockPublicAcls: doc.BlockPublicAcls, IgnorePublicAcls: doc.IgnorePublicAcls,
		BlockPublicPolicy: doc.BlockPublicPolicy, RestrictPublicBuckets: doc.RestrictPublicBuckets}
	s.mu.Lock()
	b.pab = p
	s.pabChanges = append(s.pabChanges, PABChange{At: time.Now(), Bucket: b.name, Op: "put", Config: clonePAB(p)})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *Sandbox) deletePAB(w http.ResponseWriter, b *bucket) {
	s.mu.Lock()
	b.pab = nil
	s.pabChanges = append(s.pabChanges, PABChange{At: time.Now(), Bucket: b.name, Op: "delete"})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// effectivePABLocked is what bucket's website enforces at now: the latest change
// accepted at least PropagationDelay before now, else the starting configuration.
func (s *Sandbox) effectivePABLocked(bucket string, now time.Time) *drill.PublicAccessBlock {
	for i := len(s.pabChanges) - 1; i >= 0; i-- {
		c := s.pabChanges[i]
		if c.Bucket == bucket && !c.At.Add(s.cfg.PropagationDelay).After(now) {
			return c.Config
		}
	}
	if b, ok := s.buckets[bucket]; ok {
		return b.start
	}
	return nil
}

func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "W/")
		if v == "*" || strings.Trim(v, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

func (s *Sandbox) putObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	if r.Header.Get("x-amz-copy-source") != "" {
		writeS3Error(w, r, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: "CopyObject is not implemented by the sandbox"})
		return
	}
	ifNoneMatch, ifMatch := r.Header.Get("If-None-Match"), r.Header.Get("If-Match")
	if ifNoneMatch != "" && ifNoneMatch != "*" {
		writeS3Error(w, r, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: "If-None-Match on PutObject accepts only *"})
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeS3Error(w, r, http.StatusBadRequest, s3Error{Code: "IncompleteBody", Message: err.Error()})
		return
	}
	o := newObject(body, r.Header.Get("Content-Type"))
	s.mu.Lock()
	old, exists := b.objects[key]
	switch {
	case ifNoneMatch == "*" && exists, ifMatch != "" && (!exists || !etagMatches(ifMatch, old.etag)):
		s.mu.Unlock()
		writeS3Error(w, r, http.StatusPreconditionFailed, s3Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold", Key: key})
		return
	}
	b.objects[key] = o
	s.mu.Unlock()
	w.Header().Set("ETag", o.etag)
	w.WriteHeader(http.StatusOK)
}

func (s *Sandbox) getObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	s.mu.Lock()
	o, ok := b.objects[key]
	s.mu.Unlock()
	if !ok {
		writeS3Error(w, r, http.StatusNotFound, s3Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: key})
		return
	}
	if v := r.Header.Get("If-Match"); v != "" && !etagMatches(v, o.etag) {
		writeS3Error(w, r, http.StatusPreconditionFailed, s3Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"})
		return
	}
	writeObject(w, r, o)
}

// writeObject answers an object's bytes with S3's headers; If-None-Match → 304.
func writeObject(w http.ResponseWriter, r *http.Request, o object) {
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.Format(http.TimeFormat))
	if v := r.Header.Get("If-None-Match"); v != "" && etagMatches(v, o.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", o.contentType)
	h.Set("Content-Length", strconv.Itoa(len(o.data)))
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(o.data)
	}
}

func (s *Sandbox) deleteObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	s.mu.Lock()
	old, exists := b.objects[key]
	if v := r.Header.Get("If-Match"); v != "" && (!exists || !etagMatches(v, old.etag)) {
		s.mu.Unlock()
		writeS3Error(w, r, http.StatusPreconditionFailed, s3Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold", Key: key})
		return
	}
	delete(b.objects, key)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type listResult struct {
	XMLName               xml.Name      `xml:"ListBucketResult"`
	Xmlns                 string        `xml:"xmlns,attr"`
	Name                  string        `xml:"Name"`
	Prefix                string        `xml:"Prefix"`
	StartAfter            string        `xml:"StartAfter,omitempty"`
	ContinuationToken     string        `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string        `xml:"NextContinuationToken,omitempty"`
	KeyCount              int           `xml:"KeyCount"`
	MaxKeys               int           `xml:"MaxKeys"`
	IsTruncated           bool          `xml:"IsTruncated"`
	Contents              []listContent `xml:"Contents"`
}

type listContent struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// listObjects is ListObjectsV2 with prefix, start-after, max-keys and continuation
// tokens (no delimiter).
func (s *Sandbox) listObjects(w http.ResponseWriter, r *http.Request, b *bucket) {
	q := r.URL.Query()
	if q.Get("delimiter") != "" {
		writeS3Error(w, r, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: "the sandbox does not implement delimiter"})
		return
	}
	res := listResult{Xmlns: s3Namespace, Name: b.name, Prefix: q.Get("prefix"), StartAfter: q.Get("start-after"),
		ContinuationToken: q.Get("continuation-token"), MaxKeys: 1000}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeS3Error(w, r, http.StatusBadRequest, s3Error{Code: "InvalidArgument", Message: "max-keys must be a non-negative integer"})
			return
		}
		res.MaxKeys = min(n, 1000)
	}
	after := res.StartAfter
	if res.ContinuationToken != "" {
		after = res.ContinuationToken
	}
	s.mu.Lock()
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, res.Prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > res.MaxKeys {
		keys = keys[:res.MaxKeys]
		res.IsTruncated = true
		if len(keys) > 0 {
			res.NextContinuationToken = keys[len(keys)-1]
		}
	}
	for _, k := range keys {
		o := b.objects[k]
		res.Contents = append(res.Contents, listContent{Key: k, LastModified: o.modified.Format("2006-01-02T15:04:05.000Z"),
			ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD"})
	}
	s.mu.Unlock()
	res.KeyCount = len(res.Contents)
	writeXML(w, res)
}

// readBody reads a request body, decoding aws-chunked framing when the SDK used it
// (Content-Encoding: aws-chunked, or a STREAMING-* x-amz-content-sha256).
func readBody(r *http.Request) ([]byte, error) {
	raw := io.LimitReader(r.Body, maxBody+1)
	chunked := strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-")
	if !chunked {
		body, err := io.ReadAll(raw)
		if err == nil && len(body) > maxBody {
			err = errors.New("request body too large for the sandbox")
		}
		return body, err
	}
	body, err := decodeAWSChunked(raw)
	if err != nil {
		return nil, err
	}
	if v := r.Header.Get("x-amz-decoded-content-length"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n != len(body) {
			return nil, fmt.Errorf("aws-chunked body decodes to %d bytes, x-amz-decoded-content-length says %d", len(body), n)
		}
	}
	return body, nil
}

// decodeAWSChunked decodes "hex-size[;chunk-signature=...]\r\ndata\r\n" chunks up to the
// zero-size one; trailer lines (x-amz-checksum-*) after it are ignored.
func decodeAWSChunked(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(r)
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("aws-chunked: reading chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("aws-chunked: bad chunk size %q", sizeHex)
		}
		if size == 0 {
			return out.Bytes(), nil
		}
		if int64(out.Len())+size > maxBody {
			return nil, errors.New("aws-chunked: body too large for the sandbox")
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, fmt.Errorf("aws-chunked: short chunk: %w", err)
		}
		crlf := make([]byte, 2)
		if _, err := io.ReadFull(br, crlf); err != nil || string(crlf) != "\r\n" {
			return nil, errors.New("aws-chunked: chunk data not followed by CRLF")
		}
	}
}

// statusRecorder remembers the status a handler wrote, for logs.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
