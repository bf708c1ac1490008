// Package statemachine embeds the drill's flow, failover-drill.asl.json: the source of
// truth for the order of steps, their retries and their catches. infra/ deploys it and
// the local runner executes it.
package statemachine

import _ "embed"

// Definition is the ASL (JSONPath dialect) with ${Placeholder} substitutions.
//
//go:embed failover-drill.asl.json
var Definition string
