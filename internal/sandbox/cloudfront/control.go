package cloudfront

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

// Description is what the control API says about the distribution beyond what the
// edge itself enforces: its ID and domain, and the origins' domain names as a real
// distribution names them (<bucket>.s3-website-<region>.amazonaws.com).
type Description struct {
	ID, DomainName                 string
	PrimaryDomain, SecondaryDomain string
	PrimaryOriginID, SecondaryID   string
	GroupID                        string
	OriginProtocolPolicy           string // default http-only, as for S3 website endpoints
	AccountID                      string
	// Authorize reports whether a principal (the SigV4 access key id) may do an IAM
	// action on a resource (the sandbox's iam); nil allows everything.
	Authorize func(principal, action, resource string) bool
}

// Control is the distribution's control API endpoint (cloudfront.amazonaws.com):
// GetDistributionConfig and GetDistribution for the one distribution, in CloudFront's
// REST-XML (API version 2020-05-31) with an ETag, so the real SDK client parses it;
// and ListDistributions, the account's one distribution in one page, as `drill
// configure` finds the lab's distribution by its origins.
func (e *Edge) Control(d Description) http.Handler {
	if d.OriginProtocolPolicy == "" {
		d.OriginProtocolPolicy = "http-only"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-request-id", newID())
		if r.URL.Path == "/2020-05-31/distribution" && r.Method == http.MethodGet {
			e.listDistributions(w, r, d)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/2020-05-31/distribution/")
		id, sub, _ := strings.Cut(rest, "/")
		if !ok || r.Method != http.MethodGet || (sub != "config" && sub != "") {
			controlError(w, http.StatusNotFound, "InvalidArgument", "the sandbox implements only ListDistributions, GetDistribution and GetDistributionConfig")
			return
		}
		action := "cloudfront:GetDistributionConfig"
		if sub == "" {
			action = "cloudfront:GetDistribution"
		}
		resource := "arn:aws:cloudfront::" + d.AccountID + ":distribution/" + id
		if principal := iam.Principal(r); d.Authorize != nil && !d.Authorize(principal, action, resource) {
			controlError(w, http.StatusForbidden, "AccessDenied", iam.DeniedMessage(principal, action, resource))
			return
		}
		if id != d.ID {
			controlError(w, http.StatusNotFound, "NoSuchDistribution", "The specified distribution does not exist.")
			return
		}
		cfg := e.describe(d)
		var doc any = cfg
		if sub == "" {
			doc = distributionXML{Xmlns: xmlns, ID: d.ID, ARN: "arn:aws:cloudfront::" + d.AccountID + ":distribution/" + d.ID,
				Status: "Deployed", DomainName: d.DomainName, DistributionConfig: cfg}
		}
		body, _ := xml.Marshal(doc)
		body = append([]byte(xml.Header), body...)
		sum := md5.Sum(body)
		w.Header().Set("ETag", "E"+strings.ToUpper(hex.EncodeToString(sum[:6])))
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

const xmlns = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// listDistributions answers ListDistributions (cloudfront:ListDistributions, whose
// resource is *): the one distribution's summary, never truncated.
func (e *Edge) listDistributions(w http.ResponseWriter, r *http.Request, d Description) {
	const action = "cloudfront:ListDistributions"
	if principal := iam.Principal(r); d.Authorize != nil && !d.Authorize(principal, action, "*") {
		controlError(w, http.StatusForbidden, "AccessDenied", iam.DeniedMessage(principal, action, "*"))
		return
	}
	cfg := e.describe(d)
	list := distributionListXML{Xmlns: xmlns, MaxItems: 100, Quantity: 1, Items: []distributionSummaryXML{{
		ID: d.ID, ARN: "arn:aws:cloudfront::" + d.AccountID + ":distribution/" + d.ID, Status: "Deployed",
		DomainName: d.DomainName, Origins: cfg.Origins, OriginGroups: cfg.OriginGroups,
		DefaultCacheBehavior: cfg.DefaultCacheBehavior, CacheBehaviors: cfg.CacheBehaviors, Comment: cfg.Comment, Enabled: cfg.Enabled,
	}}}
	body, _ := xml.Marshal(list)
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

type distributionListXML struct {
	XMLName     xml.Name                 `xml:"DistributionList"`
	Xmlns       string                   `xml:"xmlns,attr"`
	Marker      string                   `xml:"Marker"`
	MaxItems    int                      `xml:"MaxItems"`
	IsTruncated bool                     `xml:"IsTruncated"`
	Quantity    int                      `xml:"Quantity"`
	Items       []distributionSummaryXML `xml:"Items>DistributionSummary"`
}

type distributionSummaryXML struct {
	ID                   string            `xml:"Id"`
	ARN                  string            `xml:"ARN"`
	Status               string            `xml:"Status"`
	DomainName           string            `xml:"DomainName"`
	Origins              originsXML        `xml:"Origins"`
	OriginGroups         originGroupsXML   `xml:"OriginGroups"`
	DefaultCacheBehavior behaviorXML       `xml:"DefaultCacheBehavior"`
	CacheBehaviors       cacheBehaviorsXML `xml:"CacheBehaviors"`
	Comment              string            `xml:"Comment"`
	Enabled              bool              `xml:"Enabled"`
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	type errXML struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		ReqID   string   `xml:"RequestId"`
	}
	body, _ := xml.Marshal(errXML{Xmlns: xmlns, Type: "Sender", Code: code, Message: msg, ReqID: w.Header().Get("x-amz-request-id")})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// describe renders the edge's own options: what it enforces is what the API says.
func (e *Edge) describe(d Description) distributionConfigXML {
	origin := func(id, domain string) originXML {
		o := originXML{ID: id, DomainName: domain, ConnectionAttempts: e.opt.ConnectAttempts,
			ConnectionTimeout: max(1, int(e.opt.ConnectTimeout.Round(1e9).Seconds())),
			Custom: customOriginXML{HTTPPort: 80, HTTPSPort: 443, ProtocolPolicy: d.OriginProtocolPolicy,
				ReadTimeout: max(1, int(e.opt.ResponseTimeout.Round(1e9).Seconds())), KeepaliveTimeout: 5,
				SSLProtocols: quantity[string]{Quantity: 1, Items: &items[string]{Elem: []string{"TLSv1.2"}}}}}
		if c := e.opt.ResponseCompletionTimeout; c > 0 {
			// Whole seconds on AWS; rounded up, so what the API says is never shorter.
			o.ResponseCompletionTimeout = int((c + time.Second - 1) / time.Second)
		}
		return o
	}
	codes := quantity[int]{Quantity: len(e.opt.FailoverCodes), Items: &items[int]{Elem: e.opt.FailoverCodes}}
	cfg := distributionConfigXML{
		Xmlns: xmlns, CallerReference: "sandbox", Comment: "failover drill sandbox", Enabled: true,
		DefaultRootObject: "index.html",
		Origins:           originsXML{Quantity: 2, Items: []originXML{origin(d.PrimaryOriginID, d.PrimaryDomain), origin(d.SecondaryID, d.SecondaryDomain)}},
		OriginGroups: originGroupsXML{Quantity: 1, Items: []originGroupXML{{
			ID: d.GroupID, FailoverStatusCodes: codes,
			Members: membersXML{Quantity: 2, Items: []memberXML{{OriginID: d.PrimaryOriginID}, {OriginID: d.SecondaryID}}},
		}}},
		DefaultCacheBehavior: behaviorXML{TargetOriginID: d.GroupID, ViewerProtocolPolicy: "redirect-to-https", CachePolicyID: CachingDisabled.ID},
		CacheBehaviors:       cacheBehaviorsXML{Quantity: len(e.opt.Behaviors)},
	}
	for _, b := range e.opt.Behaviors {
		cfg.CacheBehaviors.Items = append(cfg.CacheBehaviors.Items, behaviorXML{
			PathPattern: b.PathPattern, TargetOriginID: d.GroupID, ViewerProtocolPolicy: "redirect-to-https", CachePolicyID: b.Policy.ID})
	}
	return cfg
}

type quantity[T any] struct {
	Quantity int       `xml:"Quantity"`
	Items    *items[T] `xml:"Items"`
}

type items[T any] struct {
	Elem []T `xml:",any"`
}

func (it items[T]) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	name := "SslProtocol"
	var zero T
	if _, ok := any(zero).(int); ok {
		name = "StatusCode"
	}
	for _, v := range it.Elem {
		if err := enc.EncodeElement(fmt.Sprint(v), xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

type distributionXML struct {
	XMLName            xml.Name              `xml:"Distribution"`
	Xmlns              string                `xml:"xmlns,attr"`
	ID                 string                `xml:"Id"`
	ARN                string                `xml:"ARN"`
	Status             string                `xml:"Status"`
	DomainName         string                `xml:"DomainName"`
	DistributionConfig distributionConfigXML `xml:"DistributionConfig"`
}

type distributionConfigXML struct {
	XMLName              xml.Name          `xml:"DistributionConfig"`
	Xmlns                string            `xml:"xmlns,attr,omitempty"`
	CallerReference      string            `xml:"CallerReference"`
	DefaultRootObject    string            `xml:"DefaultRootObject"`
	Origins              originsXML        `xml:"Origins"`
	OriginGroups         originGroupsXML   `xml:"OriginGroups"`
	DefaultCacheBehavior behaviorXML       `xml:"DefaultCacheBehavior"`
	CacheBehaviors       cacheBehaviorsXML `xml:"CacheBehaviors"`
	Comment              string            `xml:"Comment"`
	Enabled              bool              `xml:"Enabled"`
}

type originsXML struct {
	Quantity int         `xml:"Quantity"`
	Items    []originXML `xml:"Items>Origin"`
}

type originXML struct {
	ID                 string          `xml:"Id"`
	DomainName         string          `xml:"DomainName"`
	OriginPath         string          `xml:"OriginPath"`
	Custom             customOriginXML `xml:"CustomOriginConfig"`
	ConnectionAttempts int             `xml:"ConnectionAttempts"`
	ConnectionTimeout  int             `xml:"ConnectionTimeout"`
	// ResponseCompletionTimeout is absent when not set.
	ResponseCompletionTimeout int `xml:"ResponseCompletionTimeout,omitempty"`
}

type customOriginXML struct {
	HTTPPort         int              `xml:"HTTPPort"`
	HTTPSPort        int              `xml:"HTTPSPort"`
	ProtocolPolicy   string           `xml:"OriginProtocolPolicy"`
	SSLProtocols     quantity[string] `xml:"OriginSslProtocols"`
	ReadTimeout      int              `xml:"OriginReadTimeout"`
	KeepaliveTimeout int              `xml:"OriginKeepaliveTimeout"`
}

type originGroupsXML struct {
	Quantity int              `xml:"Quantity"`
	Items    []originGroupXML `xml:"Items>OriginGroup"`
}

type originGroupXML struct {
	ID                  string        `xml:"Id"`
	FailoverStatusCodes quantity[int] `xml:"FailoverCriteria>StatusCodes"`
	Members             membersXML    `xml:"Members"`
}

type membersXML struct {
	Quantity int         `xml:"Quantity"`
	Items    []memberXML `xml:"Items>OriginGroupMember"`
}

type memberXML struct {
	OriginID string `xml:"OriginId"`
}

type cacheBehaviorsXML struct {
	Quantity int           `xml:"Quantity"`
	Items    []behaviorXML `xml:"Items>CacheBehavior"`
}

type behaviorXML struct {
	PathPattern          string `xml:"PathPattern,omitempty"`
	TargetOriginID       string `xml:"TargetOriginId"`
	ViewerProtocolPolicy string `xml:"ViewerProtocolPolicy"`
	CachePolicyID        string `xml:"CachePolicyId"`
}
