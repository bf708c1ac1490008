package readiness

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// AccountPABAPI is the S3 Control call the account check makes.
type AccountPABAPI interface {
	GetPublicAccessBlock(ctx context.Context, params *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

var _ AccountPABAPI = (*s3control.Client)(nil)

// secondaryOrigin fetches the secondary origin directly, by the domain the
// distribution names: its config.json must name secondaryRegion, and the API it names
// must answer its health endpoint. It returns that API host for the replication check.
func (h *Handler) secondaryOrigin(ctx context.Context, cfg drill.Config, found distribution) (drill.Check, string, error) {
	const name = drill.CheckSecondaryOrigin
	if found.secondary == nil {
		return skip(name, "the secondary origin's domain comes from the distribution's configuration, which was not read (see the distribution check)",
			"make the distribution check run (distributionId and its permission)"), "", nil
	}
	domain := aws.ToString(found.secondary.DomainName)
	scheme, port := "http", int32(80)
	if c := found.secondary.CustomOriginConfig; c != nil && c.OriginProtocolPolicy == "https-only" {
		scheme, port = "https", aws.ToInt32(c.HTTPSPort)
	} else if c != nil && c.HTTPPort != nil {
		port = *c.HTTPPort
	}
	site := fmt.Sprintf("%s://%s", scheme, domain)
	if (scheme == "http" && port != 80) || (scheme == "https" && port != 443 && port != 0) {
		site = fmt.Sprintf("%s://%s:%d", scheme, domain, port)
	}
	sc, status, err := h.Shop.SiteConfig(ctx, site)
	if err != nil {
		if ctx.Err() != nil {
			return drill.Check{}, "", ctx.Err()
		}
		return fail(name, fmt.Sprintf("the secondary origin %s does not serve config.json (status %d): %v; after the block visitors would get errors", site, status, err),
			"bring the secondary site back (its bucket, website hosting, public read) before drilling"), "", nil
	}
	ev := []string{fmt.Sprintf("GET %s/config.json: region %q, API %s", site, sc.Region, sc.Host)}
	if sc.Region != cfg.SecondaryRegion {
		return fail(name, fmt.Sprintf("the secondary origin's config.json names region %q, want %q", sc.Region, cfg.SecondaryRegion),
			"fix the secondary bucket's config.json or secondaryRegion", ev...), sc.Host, nil
	}
	if err := h.Shop.Health(ctx, sc.Host); err != nil {
		if ctx.Err() != nil {
			return drill.Check{}, "", ctx.Err()
		}
		return fail(name, fmt.Sprintf("the secondary API %s does not answer its health check: %v", sc.Host, err),
			"bring the secondary API back before drilling", ev...), sc.Host, nil
	}
	ev = append(ev, "GET "+sc.Host+"/health/ping: 200")
	return pass(name, ev...), sc.Host, nil
}

// accountPAB reads the account-level Block Public Access: with RestrictPublicBuckets
// on, S3 refuses anonymous reads of every bucket of the account whatever the bucket
// says, so the site cannot serve, before or after the drill.
func (h *Handler) accountPAB(ctx context.Context) (drill.Check, error) {
	const name = drill.CheckAccountPAB
	account := ""
	if h.AccountID != nil {
		account = h.AccountID(ctx)
	}
	if account == "" {
		return skip(name, "the account ID is unknown (no Lambda context)", "run the check as the deployed readiness function"), nil
	}
	out, err := h.S3Control.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)})
	switch {
	case err != nil && pab.HasCode(err, pab.CodeNoConfiguration):
		return pass(name, "account "+account+" has no account-level Block Public Access configuration"), nil
	case err != nil && pab.HasCode(err, "AccessDenied"):
		return skip(name, fmt.Sprintf("no permission to read account %s's Block Public Access: %v", account, err),
			"grant the readiness role s3:GetAccountPublicAccessBlock"), nil
	case err != nil:
		return drill.Check{}, pab.Wrap(err, "get account %s public access block", account)
	}
	c := out.PublicAccessBlockConfiguration
	got := &drill.PublicAccessBlock{BlockPublicAcls: aws.ToBool(c.BlockPublicAcls), IgnorePublicAcls: aws.ToBool(c.IgnorePublicAcls),
		BlockPublicPolicy: aws.ToBool(c.BlockPublicPolicy), RestrictPublicBuckets: aws.ToBool(c.RestrictPublicBuckets)}
	ev := []string{"account " + account + ": " + pab.String(got)}
	if got.RestrictPublicBuckets {
		return fail(name, fmt.Sprintf("account-level Block Public Access of account %s has RestrictPublicBuckets on: S3 refuses anonymous reads of every website bucket in the account whatever the bucket's own settings say, so the site stays blocked after the drill restores the bucket", account),
			"turn RestrictPublicBuckets off in the account's Block Public Access settings (S3 console), or drill a lab that does not serve its site from public buckets", ev...), nil
	}
	if got.IgnorePublicAcls {
		ev = append(ev, "IgnorePublicAcls is on: fine while the site's public read comes from a bucket policy, as in the lab")
	}
	return pass(name, ev...), nil
}

// stopAlarms reads every stop alarm: none may be in ALARM, missing, or unreadable.
func (h *Handler) stopAlarms(ctx context.Context, names []string) (drill.Check, error) {
	const name = drill.CheckStopAlarms
	if len(names) == 0 {
		// Nothing to watch is a configuration, not a check that could not run: the
		// error budget is then the drill's only stop condition, and the evidence says so.
		return pass(name, "no stop alarms configured (stopAlarms is empty in the context and the input): nothing to watch; "+
			"the error budget is the drill's only stop condition"), nil
	}
	states, err := stopalarm.Describe(ctx, h.Alarms, names)
	if err != nil {
		if stopalarm.IsAccessDenied(err) {
			return fail(name, fmt.Sprintf("cannot read the stop alarms %v: AccessDenied (a stop condition that cannot be watched is not ignored)", names),
				"allow the readiness and probe-cloudfront roles cloudwatch:DescribeAlarms on * (as deployed: CloudWatch returns composite alarms only to a permission scoped to *)", err.Error()), nil
		}
		var tr *drill.Transient
		if pab.IsTransient(err) || errors.As(err, &tr) {
			return drill.Check{}, &drill.Transient{Msg: err.Error()}
		}
		return drill.Check{}, err
	}
	var ev, bad []string
	for _, s := range states {
		switch {
		case !s.Exists:
			bad = append(bad, fmt.Sprintf("stop alarm %s does not exist", s.Name))
		case s.InAlarm():
			bad = append(bad, fmt.Sprintf("stop alarm %s is in ALARM since %s: %s", s.Name, s.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), s.Reason))
		default:
			ev = append(ev, fmt.Sprintf("%s: %s", s.Name, s.Value))
		}
	}
	if len(bad) > 0 {
		return fail(name, joinSemi(bad), "wait for the alarm to return to OK (or fix its name) before drilling", ev...), nil
	}
	return pass(name, ev...), nil
}

func joinSemi(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += "; "
		}
		out += v
	}
	return out
}
