// Package s3wire is S3's wire format as the sandbox speaks it: the XML error document,
// the headers S3 sends, and an object's bytes with their ETag. Both S3 stand-ins (the
// REST endpoint in package s3 and the website endpoint in package s3website) answer in
// it; neither needs the other to do so.
package s3wire

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Namespace is the XML namespace of S3's REST API documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// MaxBody bounds a request or response body the sandbox reads.
const MaxBody = 16 << 20

// Error is S3's error document.
type Error struct {
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

// NewRequestID is a random id in the shape of S3's x-amz-request-id.
func NewRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// SetHeaders sets the headers every S3 response carries.
func SetHeaders(w http.ResponseWriter) {
	w.Header().Set("x-amz-request-id", NewRequestID())
	w.Header().Set("x-amz-id-2", "sandbox")
	w.Header().Set("Server", "AmazonS3")
}

// WriteError answers S3's XML error document (no body for HEAD).
func WriteError(w http.ResponseWriter, r *http.Request, status int, e Error) {
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

// WriteXML answers 200 with v as an XML document.
func WriteXML(w http.ResponseWriter, v any) {
	body, _ := xml.Marshal(v)
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// Object is a stored object. Data is never modified after NewObject.
type Object struct {
	Data        []byte
	ETag        string // quoted hex md5
	ContentType string
	Modified    time.Time
}

// NewObject stores data with its md5 ETag; an empty contentType takes S3's default.
func NewObject(data []byte, contentType string) Object {
	sum := md5.Sum(data)
	if contentType == "" {
		contentType = "binary/octet-stream" // S3's default
	}
	return Object{Data: data, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, ContentType: contentType, Modified: time.Now().UTC()}
}

// ETagMatches reports whether an If-Match / If-None-Match header value names etag (or *).
func ETagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "W/")
		if v == "*" || strings.Trim(v, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// WriteObject answers an object's bytes with S3's headers; If-None-Match → 304.
func WriteObject(w http.ResponseWriter, r *http.Request, o Object) {
	h := w.Header()
	h.Set("ETag", o.ETag)
	h.Set("Last-Modified", o.Modified.Format(http.TimeFormat))
	if v := r.Header.Get("If-None-Match"); v != "" && ETagMatches(v, o.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", o.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(o.Data)))
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(o.Data)
	}
}
