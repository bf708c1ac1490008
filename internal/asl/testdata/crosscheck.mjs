// Runs the real ASL file through aws-local-stepfunctions, an independent Step Functions
// engine, for each scenario of crosscheck.json, with stub Lambdas keyed by state name.
// Prints one JSON result per scenario; crosscheck_test.go compares them with the Go runner.
import { StateMachine } from 'aws-local-stepfunctions';
import fs from 'node:fs';

const [aslFile, scenarioFile] = process.argv.slice(2);
const { substitutions, outputs, scenarios } = JSON.parse(fs.readFileSync(scenarioFile, 'utf8'));
const definition = fs.readFileSync(aslFile, 'utf8').replace(/\$\{(\w+)\}/g, (_, k) => substitutions[k]);
const machine = new StateMachine(JSON.parse(definition));
const taskStates = Object.entries(JSON.parse(definition).States).filter(([, s]) => s.Type === 'Task').map(([n]) => n);

const results = [];
for (const sc of scenarios) {
  const calls = [];
  const taskResourceLocalHandlers = {};
  const retryIntervalOverrides = {};
  for (const state of taskStates) {
    retryIntervalOverrides[state] = 0;
    taskResourceLocalHandlers[state] = async (input) => {
      calls.push({ state, payload: input.Payload });
      if ((sc.fail || []).includes(state)) {
        const err = new Error(`injected fault in ${state}`);
        err.name = sc.error || 'InjectedFault';
        throw err;
      }
      const payload = (sc.outputs || {})[state] ?? outputs[state] ?? {};
      return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
    };
  }
  const execution = machine.run(sc.input, {
    context: { Execution: { Id: 'arn:aws:states:local:000000000000:execution:failover-drill:crosscheck', Name: 'crosscheck', Input: sc.input, StartTime: '2026-01-01T00:00:00.000Z', RoleArn: 'arn:aws:iam::000000000000:role/x' } },
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides },
  });
  try {
    const output = await execution.result;
    results.push({ name: sc.name, status: 'SUCCEEDED', calls, output });
  } catch (e) {
    results.push({ name: sc.name, status: 'FAILED', calls, error: e.cause?.name ?? e.name, cause: e.message.replace(/^Execution has failed with the following error: /, '') });
  }
}
console.log(JSON.stringify(results));
