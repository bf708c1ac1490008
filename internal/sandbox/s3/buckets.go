package s3

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

type listBucketsResult struct {
	XMLName xml.Name      `xml:"ListAllMyBucketsResult"`
	Xmlns   string        `xml:"xmlns,attr"`
	Owner   bucketsOwner  `xml:"Owner"`
	Buckets []bucketEntry `xml:"Buckets>Bucket"`
}

type bucketsOwner struct {
	ID string `xml:"ID"`
}

type bucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
}

// listBuckets is ListBuckets: every bucket of the account, whichever region's
// endpoint is asked (as S3 answers without the bucket-region filter), by name, with
// its region. It needs s3:ListAllMyBuckets, whose resource is *.
func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request) {
	const action = "s3:ListAllMyBuckets"
	if p := iam.Principal(r); !s.allowed(p, action, "*") {
		s3wire.WriteError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: iam.DeniedMessage(p, action, "*")})
		return
	}
	res := listBucketsResult{Xmlns: s3wire.Namespace, Owner: bucketsOwner{ID: "sandbox"}}
	s.mu.Lock()
	for _, b := range s.buckets {
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.name, CreationDate: s.created.UTC().Format("2006-01-02T15:04:05.000Z"), BucketRegion: b.region})
	}
	s.mu.Unlock()
	slices.SortFunc(res.Buckets, func(a, b bucketEntry) int { return strings.Compare(a.Name, b.Name) })
	s3wire.WriteXML(w, res)
	s.log.Debug("s3: list buckets", "buckets", len(res.Buckets))
}
