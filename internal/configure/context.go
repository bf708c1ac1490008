package configure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// The context keys configure writes, as infra/config.go names them.
const (
	KeyPrimaryBucket      = "primaryBucket"
	KeyDistributionDomain = "distributionDomain"
	KeyDistributionID     = "distributionId"
	KeyPrimaryRegion      = "primaryRegion"
	KeySecondaryRegion    = "secondaryRegion"
	KeyNotifyEmail        = "notifyEmail"
	KeyAlarmTopicArn      = "alarmTopicArn"
)

// Validation as infra/config.go does it, so a bad flag stops here, before the file is
// written, rather than at synth.
var (
	emailAddr   = regexp.MustCompile(`^[^@\s]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$`)
	snsTopicARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:([a-z]{2}(-[a-z]+)+-[0-9]+):([0-9]{12}):([A-Za-z0-9_-]{1,256})$`)
)

// Who is told when an alarm fires: the flags, "" for unchanged.
type Who struct{ NotifyEmail, AlarmTopicArn string }

// Validate names each bad flag.
func (w Who) Validate() error {
	var p []string
	if w.NotifyEmail != "" && !emailAddr.MatchString(w.NotifyEmail) {
		p = append(p, fmt.Sprintf("--notify-email: %q is not an email address", w.NotifyEmail))
	}
	if w.AlarmTopicArn != "" && !snsTopicARN.MatchString(w.AlarmTopicArn) {
		p = append(p, fmt.Sprintf("--alarm-topic-arn: %q is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)", w.AlarmTopicArn))
	}
	if len(p) > 0 {
		return fmt.Errorf("%s", joinLines(p))
	}
	return nil
}

// Change is one context key configure sets: Old is "" when the key was absent.
type Change struct{ Key, Old, New string }

// Merge sets the lab's values and who to tell into an existing cdk.context.json
// (nil or empty: none) and returns the new file and what changed. Every other key is
// kept as it was (CDK caches its lookups in the same file). An existing file that is
// not a JSON object, a value configure would replace that is not a string, or a result
// that tells no one when an alarm fires is an error, and nothing is returned to write.
func Merge(existing []byte, lab Lab, who Who) ([]byte, []Change, error) {
	if err := who.Validate(); err != nil {
		return nil, nil, err
	}
	ctx := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(existing)) > 0 {
		if err := json.Unmarshal(existing, &ctx); err != nil {
			return nil, nil, fmt.Errorf("cdk.context.json is not a JSON object (%v): fix or move it, configure changes nothing", err)
		}
	}
	set := [][2]string{
		{KeyPrimaryBucket, lab.PrimaryBucket}, {KeyDistributionDomain, lab.DistributionDomain}, {KeyDistributionID, lab.DistributionID},
		{KeyPrimaryRegion, lab.PrimaryRegion}, {KeySecondaryRegion, lab.SecondaryRegion},
		{KeyNotifyEmail, who.NotifyEmail}, {KeyAlarmTopicArn, who.AlarmTopicArn},
	}
	var changes []Change
	for _, kv := range set {
		if kv[1] == "" {
			continue
		}
		old, err := stringValue(ctx, kv[0])
		if err != nil {
			return nil, nil, err
		}
		if old != kv[1] {
			changes = append(changes, Change{Key: kv[0], Old: old, New: kv[1]})
		}
		ctx[kv[0]], _ = json.Marshal(kv[1])
	}
	email, err := stringValue(ctx, KeyNotifyEmail)
	if err != nil {
		return nil, nil, err
	}
	topic, err := stringValue(ctx, KeyAlarmTopicArn)
	if err != nil {
		return nil, nil, err
	}
	if email == "" && topic == "" {
		return nil, nil, fmt.Errorf("--notify-email or --alarm-topic-arn: the stack needs someone to tell when an alarm fires " +
			"(an address that confirms AWS's subscription email, and/or an existing SNS topic in the stack's region)")
	}
	out, err := marshalSorted(ctx)
	return out, changes, err
}

// stringValue is a key's string value, "" when absent.
func stringValue(ctx map[string]json.RawMessage, key string) (string, error) {
	raw, ok := ctx[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("cdk.context.json: %s is %s, not a string: fix or remove it, configure changes nothing", key, raw)
	}
	return s, nil
}

// marshalSorted writes the object with its keys in order, two-space indented, as a
// file a person reviews and CDK reads.
func marshalSorted(ctx map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		var v bytes.Buffer
		if err := json.Indent(&v, ctx[k], "  ", "  "); err != nil {
			return nil, fmt.Errorf("cdk.context.json: %s: %w", k, err)
		}
		fmt.Fprintf(&b, "  %s: %s", name, v.Bytes())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func joinLines(p []string) string {
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}
