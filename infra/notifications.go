package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/unishop/failover-drill/internal/drill"
)

// newDeliveryDLQ is where failed deliveries of the safety net, the sweeper's and the
// drills' schedules and the notifications land (UndeliveredEvents counts each one).
// Retained by cdk destroy: an undelivered safety-net event is the evidence that a bucket
// may still be blocked. Each message is kept 14 days, the most SQS keeps one.
func newDeliveryDLQ(stack awscdk.Stack) awssqs.Queue {
	dlq := awssqs.NewQueue(stack, jsii.String("DeliveryDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(DLQRetentionDays)),
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the safety-net and notification rule targets and of the restore function's async invocations; a DLQ of a DLQ adds nothing."),
	}}, nil)
	return dlq
}

// DLQRetentionDays is how long the DLQ keeps each message (SQS's maximum).
const DLQRetentionDays = 14

// notificationsProps is what the notifications need.
type notificationsProps struct {
	Config       *Config
	StateMachine awsstepfunctions.IStateMachine
	Ledger       awss3.IBucket
	DLQ          awssqs.IQueue
}

// notifications is the topic and who may publish to it.
type notifications struct {
	Topic awssns.Topic
	stack awscdk.Stack
	dlq   awssqs.IQueue
}

// newNotifications: an encrypted topic receiving every drill result and the alarms.
//
// Only this stack's alarms and rules may publish to it. The topic policy names them:
// CloudWatch for alarms named <stack>-* in this account (aws:SourceAccount,
// aws:SourceArn), EventBridge for exactly this stack's rules (aws:SourceArn, one
// statement per rule, see publishFrom): CDK's SNS target would grant
// events.amazonaws.com with no condition, which lets any account's rule publish here.
// The key: CloudWatch under the same conditions; EventBridge only for this topic's
// encryption context, since SNS documents that aws:SourceAccount and aws:SourceArn are
// not supported in a KMS key policy for EventBridge-to-encrypted-topic delivery (SNS
// developer guide, "Key management"); the topic policy still holds EventBridge to this
// stack's rules.
func newNotifications(stack awscdk.Stack, p notificationsProps) *notifications {
	cfg, sm, ledger, dlq := p.Config, p.StateMachine, p.Ledger, p.DLQ
	key := awskms.NewKey(stack, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the failover drill's notification topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	alarmsOfThisStack := map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike":      map[string]interface{}{"aws:SourceArn": stackAlarmARNs(stack)},
	}
	// An AWS-managed key would let neither publish: the key must.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowThisStacksAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, * is this key
		Conditions: &alarmsOfThisStack,
	}), nil)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowEventBridgeForThisTopicOnly"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		// The topic's ARN is not known before the topic, which needs the key: its
		// generated name starts <stack>-Notifications.
		Conditions: &map[string]interface{}{
			"StringLike": map[string]interface{}{"kms:EncryptionContext:aws:sns:topicArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("sns"), Resource: jsii.String(*stack.StackName() + "-Notifications*"),
			})},
		},
	}), nil)
	topic := awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Failover drill"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowThisStacksAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &alarmsOfThisStack,
	}))
	if cfg.NotifyEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.NotifyEmail), nil))
	}
	n := &notifications{Topic: topic, stack: stack, dlq: dlq}

	execution := awsevents.EventField_FromPath(jsii.String("$.detail.name"))
	startDate := awsevents.EventField_FromPath(jsii.String("$.detail.startDate"))
	results := awsevents.NewRule(stack, jsii.String("DrillResults"), &awsevents.RuleProps{
		Description:  jsii.String("Failover drill results: every finished drill, and a dry run only when it did not end ready (the ReadinessNotReady rule tells why)"),
		EventPattern: resultsPattern(sm),
	})
	n.publishFrom(results, awsevents.RuleTargetInput_FromObject(map[string]interface{}{
		"drill":        "failover-drill",
		"execution":    execution,
		"status":       awsevents.EventField_FromPath(jsii.String("$.detail.status")),
		"executionArn": awsevents.EventField_FromPath(jsii.String("$.detail.executionArn")),
		// The run's folder is runs/<name>/<start>/, but the event gives the start in
		// epoch milliseconds, which a transformer cannot format: the message names
		// the name's folder and the command that shows this run's report.
		"startDate": startDate,
		"reports":   "s3://" + *ledger.BucketName() + "/runs/" + *execution + "/",
		"report":    "drill report --ledger " + *ledger.BucketName() + " --execution " + *execution + " --start " + *startDate,
	}))
	return n
}

// stackAlarmARNs matches the ARNs of this stack's alarms: CloudFormation names each
// <stack name>-<logical ID>-<suffix>.
func stackAlarmARNs(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
		ResourceName: jsii.String(*stack.StackName() + "-*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// publishFrom makes the topic a target of rule (retried, then the DLQ) and lets that
// rule, and no other, publish to it. The target is bound to a reference to the topic,
// on which CDK's unconditioned grant to events.amazonaws.com is a no-op (a referenced
// topic's policy is not the stack's to change); the topic's own policy gets the
// conditioned statement instead.
func (n *notifications) publishFrom(rule awsevents.Rule, message awsevents.RuleTargetInput) {
	id := *rule.Node().Id()
	ref := awssns.Topic_FromTopicArn(n.stack, jsii.String(id+"TopicRef"), n.Topic.TopicArn())
	rule.AddTarget(awseventstargets.NewSnsTopic(ref, &awseventstargets.SnsTopicProps{
		Message:         message,
		RetryAttempts:   jsii.Number(20),
		DeadLetterQueue: n.dlq,
	}))
	n.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("Allow" + id + "RuleToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{n.Topic.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnEquals":    map[string]interface{}{"aws:SourceArn": rule.RuleArn()},
		},
	}))
}

// notReadyErrors are the errors of a run stopped by readiness: not ready, or (a dry
// run) unverified. The ReadinessNotReady rule tells of them, naming the checks.
func notReadyErrors() *[]*string {
	return jsii.Strings(drill.ErrorName(&drill.NotReady{}), drill.ErrorName(&drill.Unverified{}))
}

// resultsPattern: every drill that ended, except what the ReadinessNotReady rule
// already tells (a run stopped not ready or unverified) and a dry run that ended ready
// (scheduled hourly, it would mail every hour that all is well). A dry run's input is
// {"dryRun":true} (the readiness schedule's, and drill start --dry-run's).
func resultsPattern(sm awsstepfunctions.IStateMachine) *awsevents.EventPattern {
	arn := &[]*string{sm.StateMachineArn()}
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.states"),
		DetailType: jsii.Strings("Step Functions Execution Status Change"),
		Detail: &map[string]interface{}{
			"stateMachineArn": arn,
			"$or": []interface{}{
				map[string]interface{}{"status": jsii.Strings("TIMED_OUT", "ABORTED")},
				map[string]interface{}{"status": jsii.Strings("FAILED"), "error": []interface{}{map[string]interface{}{"anything-but": notReadyErrors()}}},
				map[string]interface{}{"status": jsii.Strings("SUCCEEDED"), "input": []interface{}{map[string]interface{}{"anything-but": map[string]interface{}{"wildcard": DryRunInputWildcard}}}},
			},
		},
	}
}

// DryRunInputWildcard matches a Step Functions event's input (a JSON string) that asks
// for a dry run.
const DryRunInputWildcard = `*"dryRun":true*`
