package rds

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

// Namespace is the RDS API's XML namespace (API version 2014-10-31).
const Namespace = "http://rds.amazonaws.com/doc/2014-10-31/"

// IAM actions the API authorizes.
const (
	ActionDescribe   = "rds:DescribeGlobalClusters"
	ActionSwitchover = "rds:SwitchoverGlobalCluster"
	ActionFailover   = "rds:FailoverGlobalCluster"
)

// Engine and version the global cluster reports.
const (
	Engine        = "aurora-mysql"
	EngineVersion = "8.0.mysql_aurora.3.08.2"
)

type globalClusterXML struct {
	GlobalClusterIdentifier string
	GlobalClusterResourceID string `xml:"GlobalClusterResourceId"`
	GlobalClusterArn        string
	Status                  string
	Engine                  string
	EngineVersion           string
	DatabaseName            string
	StorageEncrypted        bool
	DeletionProtection      bool
	Endpoint                string
	Members                 []memberXML  `xml:"GlobalClusterMembers>GlobalClusterMember"`
	FailoverState           *failoverXML `xml:",omitempty"`
}

type memberXML struct {
	DBClusterArn                string
	Readers                     []string `xml:"Readers>member"`
	IsWriter                    bool
	GlobalWriteForwardingStatus string
	SynchronizationStatus       string `xml:",omitempty"`
}

type failoverXML struct {
	Status            string
	FromDbClusterArn  string
	ToDbClusterArn    string
	IsDataLossAllowed bool
}

// describeLocked is the global cluster as DescribeGlobalClusters answers it.
func (s *Service) describeLocked() globalClusterXML {
	g := globalClusterXML{
		GlobalClusterIdentifier: s.opt.GlobalClusterID, GlobalClusterResourceID: "cluster-sandbox0" + s.opt.Account,
		GlobalClusterArn: s.GlobalClusterARN(), Status: "available", Engine: Engine, EngineVersion: EngineVersion,
		DatabaseName: "unishop", StorageEncrypted: true, Endpoint: s.globalEndpoint(),
	}
	for i, c := range s.clusters {
		m := memberXML{DBClusterArn: s.ClusterARN(c.region), IsWriter: i == s.writer, GlobalWriteForwardingStatus: "disabled"}
		if i == s.writer {
			m.Readers = []string{s.ClusterARN(s.clusters[1-i].region)}
		} else {
			m.SynchronizationStatus = "connected"
		}
		g.Members = append(g.Members, m)
	}
	if sw := s.sw; sw != nil {
		g.FailoverState = &failoverXML{
			Status:           s.failoverStatusLocked(),
			FromDbClusterArn: s.ClusterARN(s.clusters[sw.from].region), ToDbClusterArn: s.ClusterARN(s.clusters[sw.to].region),
			IsDataLossAllowed: sw.dataLoss,
		}
	}
	return g
}

func (s *Service) describe() globalClusterXML {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.nowLocked())
	return s.describeLocked()
}

// ServeHTTP is the RDS API endpoint (awsQuery: Action and parameters in a form).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	action := r.Form.Get("Action")
	s.log.Debug("rds", "action", action, "principal", iam.Principal(r))
	id := r.Form.Get("GlobalClusterIdentifier")
	if action != "DescribeGlobalClusters" && action != "SwitchoverGlobalCluster" && action != "FailoverGlobalCluster" {
		writeError(w, http.StatusBadRequest, "InvalidAction", "The action "+action+" is not valid for this web service (the sandbox answers DescribeGlobalClusters, SwitchoverGlobalCluster and FailoverGlobalCluster).")
		return
	}
	if id == "" && action != "DescribeGlobalClusters" {
		writeError(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter GlobalClusterIdentifier")
		return
	}
	if id != "" && !strings.EqualFold(id, s.opt.GlobalClusterID) && id != s.GlobalClusterARN() {
		writeError(w, http.StatusNotFound, "GlobalClusterNotFoundFault", "Global cluster "+id+" not found.")
		return
	}
	switch action {
	case "DescribeGlobalClusters":
		if hasPrefix(r, "Filters.") {
			writeError(w, http.StatusBadRequest, "InvalidParameterValue", "the sandbox does not model DescribeGlobalClusters' Filters")
			return
		}
		if !s.authorize(w, r, ActionDescribe, s.GlobalClusterARN()) {
			return
		}
		writeResult(w, action, struct {
			Clusters []globalClusterXML `xml:"GlobalClusters>GlobalClusterMember"`
		}{[]globalClusterXML{s.describe()}})
	default:
		s.switchCluster(w, r, action)
	}
}

// switchCluster answers SwitchoverGlobalCluster and FailoverGlobalCluster.
func (s *Service) switchCluster(w http.ResponseWriter, r *http.Request, action string) {
	target := r.Form.Get("TargetDbClusterIdentifier")
	if target == "" {
		writeError(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter TargetDbClusterIdentifier")
		return
	}
	dataLoss, switchover := false, true
	iamAction := ActionSwitchover
	if action == "FailoverGlobalCluster" {
		iamAction = ActionFailover
		dataLoss = r.Form.Get("AllowDataLoss") == "true"
		switchover = r.Form.Get("Switchover") == "true"
		if dataLoss && switchover {
			writeError(w, http.StatusBadRequest, "InvalidParameterCombination", "Specify AllowDataLoss to fail over or Switchover to switch over, not both.")
			return
		}
	}
	s.mu.Lock()
	resources := []string{s.GlobalClusterARN(), s.ClusterARN(s.clusters[0].region), s.ClusterARN(s.clusters[1].region)}
	s.mu.Unlock()
	for _, res := range resources {
		if !s.authorize(w, r, iamAction, res) {
			return
		}
	}
	if err := s.startSwitch(target, dataLoss); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errNoMember) {
			status = http.StatusNotFound
		}
		code, msg, _ := strings.Cut(err.Error(), ": ")
		writeError(w, status, code, msg)
		return
	}
	writeResult(w, action, struct{ GlobalCluster globalClusterXML }{s.describe()})
}

func hasPrefix(r *http.Request, prefix string) bool {
	for k := range r.Form {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// authorize answers 403 AccessDenied and returns false when the request's principal
// may not do action on resource.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, action, resource string) bool {
	principal := iam.Principal(r)
	if s.opt.Authorize == nil || s.opt.Authorize(principal, action, resource) {
		return true
	}
	s.log.Info("rds: access denied", "principal", principal, "action", action, "resource", resource)
	writeError(w, http.StatusForbidden, "AccessDenied", iam.DeniedMessage(principal, action, resource))
	return false
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeResult answers <ActionResponse><ActionResult>result</ActionResult>, as awsQuery does.
func writeResult(w http.ResponseWriter, action string, result any) {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	body, err := xml.Marshal(struct {
		XMLName  xml.Name
		Xmlns    string `xml:"xmlns,attr"`
		Result   any
		Metadata metadata `xml:"ResponseMetadata"`
	}{xml.Name{Local: action + "Response"}, Namespace, resultElement{action + "Result", result}, metadata{requestID()}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// resultElement marshals v under the element name.
type resultElement struct {
	name string
	v    any
}

func (e resultElement) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	return enc.EncodeElement(e.v, xml.StartElement{Name: xml.Name{Local: e.name}})
}

// writeError answers awsQuery's error document.
func writeError(w http.ResponseWriter, status int, code, message string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Error   struct{ Type, Code, Message string }
		ID      string `xml:"RequestId"`
	}{Xmlns: Namespace, Error: struct{ Type, Code, Message string }{typ, code, message}, ID: requestID()})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}
