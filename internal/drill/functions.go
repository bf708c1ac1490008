package drill

import "time"

// Each Lambda function's facts, declared once. The contract (Placeholders), infra/ (the
// functions it deploys: memory, timeout, environment, the ASL's substitutions), local
// mode (its substitutions) and the cost model (memory, which state runs which function)
// all read this table; a test holds the ASL file to it (every Task state, its
// ${Placeholder} and its TimeoutSeconds).

// Function is one Lambda function of the drill.
type Function struct {
	Name        string        // its folder under functions/ (the Func* constants)
	Placeholder string        // its ARN's ${Placeholder} in the ASL; "" for the sweeper, which the flow never calls
	MemoryMB    int           // deployed memory; the cost per drill multiplies it by the billed duration
	Timeout     time.Duration // the Lambda timeout
	States      []TaskState   // the flow's Task states that invoke it
	Env         []string      // the environment variables it needs (infra/ sets them, nothing more)
}

// TaskState is a Task state of the flow and its TimeoutSeconds in the ASL. The state's
// timeout is above the function's own (its Lambda timeout, or Budget when the function
// bounds this state's run itself), so the function's error, which the flow retries or
// catches by name, comes before Step Functions' States.Timeout.
type TaskState struct {
	Name           string
	TimeoutSeconds int
	Budget         time.Duration // the function's own bound for this state (0: its Lambda timeout)
}

// Functions are the seven functions of the flow, in flow order, and the sweeper.
var Functions = []Function{
	{Name: FuncReadiness, Placeholder: "ReadinessFunctionArn", MemoryMB: 256,
		// The replication check waits up to maxReplicationLagSeconds (at most 300 s).
		Timeout: 6 * time.Minute, Env: []string{EnvStopAlarms},
		States: []TaskState{{Name: "Readiness", TimeoutSeconds: 390}, {Name: "Replication", TimeoutSeconds: 390}}},
	{Name: FuncProbe, Placeholder: "ProbeFunctionArn", MemoryMB: 512,
		// The probe writes only its sample logs to the ledger.
		Timeout: 15 * time.Minute, Env: []string{EnvLedgerBucket},
		States: []TaskState{{Name: "Preflight", TimeoutSeconds: 930}, {Name: "AwaitFailover", TimeoutSeconds: 930},
			{Name: "AwaitRecovery", TimeoutSeconds: 930}, {Name: "RecoveryCheck", TimeoutSeconds: 120, Budget: RecoveryCheckBudget}}},
	{Name: FuncSeedCart, Placeholder: "SeedCartFunctionArn", MemoryMB: 256,
		// Its configuration arrives in the payload: no environment.
		Timeout: 2 * time.Minute,
		States:  []TaskState{{Name: "SeedCart", TimeoutSeconds: 150}}},
	{Name: FuncBlock, Placeholder: "BlockBucketFunctionArn", MemoryMB: 256,
		Timeout: BlockTimeout, Env: []string{EnvLedgerBucket},
		States: []TaskState{{Name: "BlockBucket", TimeoutSeconds: 90}}},
	// The database stage: a switch takes minutes on AWS (databaseSwitchTimeoutSeconds,
	// at most 720 s), then every acknowledged write is read back.
	{Name: FuncDatabase, Placeholder: "DatabaseFunctionArn", MemoryMB: 256,
		Timeout: 15 * time.Minute, Env: []string{EnvLedgerBucket},
		States: []TaskState{{Name: "SwitchDatabase", TimeoutSeconds: 930}, {Name: "SwitchDatabaseBack", TimeoutSeconds: 930}}},
	{Name: FuncRestore, Placeholder: "RestoreFunctionArn", MemoryMB: 256,
		// Restore needs no target: the run's ticket names the bucket and its region.
		Timeout: 3 * time.Minute, Env: []string{EnvLedgerBucket},
		States: []TaskState{{Name: "Restore", TimeoutSeconds: 210}, {Name: "ReleaseLock", TimeoutSeconds: 210}, {Name: "RestoreAfterFailure", TimeoutSeconds: 210}}},
	{Name: FuncReport, Placeholder: "ReportFunctionArn", MemoryMB: 256,
		Timeout: 1 * time.Minute, Env: []string{EnvLedgerBucket},
		States: []TaskState{{Name: "Report", TimeoutSeconds: 90}, {Name: "ReportAfterFailure", TimeoutSeconds: 90}}},
	// One restore takes seconds (the cart clean-up is bounded at 20 s); the timeout stays
	// well under the schedule's interval, and enters the sweeper's time bound.
	{Name: FuncSweeper, MemoryMB: 256, Timeout: 2 * time.Minute, Env: []string{EnvLedgerBucket}},
}

// FunctionNamed is the function called name; false when the drill has none.
func FunctionNamed(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// FunctionNames are the functions' names, in the table's order.
func FunctionNames() []string {
	names := make([]string, len(Functions))
	for i, f := range Functions {
		names[i] = f.Name
	}
	return names
}

// TaskFunctions maps each Task state of the flow to the function it invokes.
func TaskFunctions() map[string]string {
	m := map[string]string{}
	for _, f := range Functions {
		for _, s := range f.States {
			m[s.Name] = f.Name
		}
	}
	return m
}

// FunctionMemoryMB is each function's deployed memory, by name (from Functions).
var FunctionMemoryMB = func() map[string]int {
	m := map[string]int{}
	for _, f := range Functions {
		m[f.Name] = f.MemoryMB
	}
	return m
}()

// Placeholders are the ${Placeholder} names in the ASL file: each function's ARN, then
// the deployment's values. infra/ substitutes every one at deploy time; the local
// runner does the same at load.
var Placeholders = func() []string {
	var p []string
	for _, f := range Functions {
		if f.Placeholder != "" {
			p = append(p, f.Placeholder)
		}
	}
	return append(p,
		"DistributionDomain", "PrimaryBucket", "PrimaryRegion", "SecondaryRegion",
		"DistributionId", "MaxReplicationLagSeconds", "GlobalCluster",
		"StableSharePercent", "StableWindowSeconds", "MaxErrorRatePercent", "MaxErrorRunSeconds", "MaxLatencyP95Ms")
}()
