package s3

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

func (s *Service) putObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	if r.Header.Get("x-amz-copy-source") != "" {
		s3wire.WriteError(w, r, http.StatusNotImplemented, s3wire.Error{Code: "NotImplemented", Message: "CopyObject is not implemented by the sandbox"})
		return
	}
	ifNoneMatch, ifMatch := r.Header.Get("If-None-Match"), r.Header.Get("If-Match")
	if ifNoneMatch != "" && ifNoneMatch != "*" {
		s3wire.WriteError(w, r, http.StatusNotImplemented, s3wire.Error{Code: "NotImplemented", Message: "If-None-Match on PutObject accepts only *"})
		return
	}
	body, err := readBody(r)
	if err != nil {
		s3wire.WriteError(w, r, http.StatusBadRequest, s3wire.Error{Code: "IncompleteBody", Message: err.Error()})
		return
	}
	o := s3wire.NewObject(body, r.Header.Get("Content-Type"))
	s.mu.Lock()
	old, exists := b.objects[key]
	switch {
	case ifNoneMatch == "*" && exists, ifMatch != "" && (!exists || !s3wire.ETagMatches(ifMatch, old.ETag)):
		s.mu.Unlock()
		s3wire.WriteError(w, r, http.StatusPreconditionFailed, s3wire.Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold", Key: key})
		return
	}
	b.objects[key] = o
	s.mu.Unlock()
	w.Header().Set("ETag", o.ETag)
	w.WriteHeader(http.StatusOK)
}

func (s *Service) getObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	s.mu.Lock()
	o, ok := b.objects[key]
	s.mu.Unlock()
	if !ok {
		s.missingKey(w, r, b, key)
		return
	}
	if v := r.Header.Get("If-Match"); v != "" && !s3wire.ETagMatches(v, o.ETag) {
		s3wire.WriteError(w, r, http.StatusPreconditionFailed, s3wire.Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"})
		return
	}
	s3wire.WriteObject(w, r, o)
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	s.mu.Lock()
	old, exists := b.objects[key]
	if v := r.Header.Get("If-Match"); v != "" && (!exists || !s3wire.ETagMatches(v, old.ETag)) {
		s.mu.Unlock()
		s3wire.WriteError(w, r, http.StatusPreconditionFailed, s3wire.Error{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold", Key: key})
		return
	}
	delete(b.objects, key)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type listResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	MaxKeys               int            `xml:"MaxKeys"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []listContent  `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listContent struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// listObjects is ListObjectsV2 with prefix, delimiter (CommonPrefixes), start-after,
// max-keys, continuation tokens and encoding-type=url, as the AWS CLI's `aws s3 ls`
// asks for it.
func (s *Service) listObjects(w http.ResponseWriter, r *http.Request, b *bucket) {
	q := r.URL.Query()
	res := listResult{Xmlns: s3wire.Namespace, Name: b.name, Prefix: q.Get("prefix"), StartAfter: q.Get("start-after"),
		ContinuationToken: q.Get("continuation-token"), Delimiter: q.Get("delimiter"), MaxKeys: 1000}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s3wire.WriteError(w, r, http.StatusBadRequest, s3wire.Error{Code: "InvalidArgument", Message: "max-keys must be a non-negative integer"})
			return
		}
		res.MaxKeys = min(n, 1000)
	}
	encode := func(v string) string { return v }
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		res.EncodingType = et
		encode = url.QueryEscape
	default:
		s3wire.WriteError(w, r, http.StatusBadRequest, s3wire.Error{Code: "InvalidArgument", Message: "Invalid Encoding Method specified in Request"})
		return
	}
	after := res.StartAfter
	if res.ContinuationToken != "" {
		after = res.ContinuationToken
	}
	s.mu.Lock()
	entries := listEntries(b.objects, res.Prefix, res.Delimiter, after)
	if len(entries) > res.MaxKeys {
		entries = entries[:res.MaxKeys]
		res.IsTruncated = true
		if len(entries) > 0 {
			res.NextContinuationToken = entries[len(entries)-1].name
		}
	}
	for _, e := range entries {
		if e.prefix {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: encode(e.name)})
			continue
		}
		o := b.objects[e.name]
		res.Contents = append(res.Contents, listContent{Key: encode(e.name), LastModified: o.Modified.Format("2006-01-02T15:04:05.000Z"),
			ETag: o.ETag, Size: len(o.Data), StorageClass: "STANDARD"})
	}
	s.mu.Unlock()
	res.KeyCount = len(res.Contents) + len(res.CommonPrefixes)
	if res.EncodingType != "" {
		res.Prefix, res.Delimiter, res.StartAfter = encode(res.Prefix), encode(res.Delimiter), encode(res.StartAfter)
	}
	s3wire.WriteXML(w, res)
}

// listEntry is one line of a listing: a key, or a common prefix that rolls up every
// key sharing it.
type listEntry struct {
	name   string
	prefix bool
}

// listEntries are the keys under prefix after after, in order, with the keys that
// hold delimiter past the prefix rolled up into one common prefix each, as S3 lists
// them (a common prefix counts as one entry toward max-keys and can be a
// continuation token).
func listEntries(objects map[string]s3wire.Object, prefix, delimiter, after string) []listEntry {
	var keys []string
	for k := range objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []listEntry
	for _, k := range keys {
		e := listEntry{name: k}
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				e = listEntry{name: k[:len(prefix)+i+len(delimiter)], prefix: true}
			}
		}
		if e.name <= after || len(out) > 0 && out[len(out)-1] == e {
			continue
		}
		out = append(out, e)
	}
	return out
}

// readBody reads a request body, decoding aws-chunked framing when the SDK used it
// (Content-Encoding: aws-chunked, or a STREAMING-* x-amz-content-sha256).
func readBody(r *http.Request) ([]byte, error) {
	raw := io.LimitReader(r.Body, s3wire.MaxBody+1)
	chunked := strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-")
	if !chunked {
		body, err := io.ReadAll(raw)
		if err == nil && len(body) > s3wire.MaxBody {
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
		if int64(out.Len())+size > s3wire.MaxBody {
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
