package daemon

// The crash hooks the delivery tests use. They are read only by a binary built with
// `-tags faultinject` (faultinject.go), which is how the tests build facilityd; the shipped
// binary has no-ops in their place (faultinject_off.go) and never reads these variables.

// KillAfterJournalEnv names an alarm id; when set, facilityd kills itself (SIGKILL) right
// after journalling that alarm's raise and before any consumer sees it. The delivery tests
// use it to check that the alarm still reaches every consumer after the restart.
const KillAfterJournalEnv = "FACILITYD_TEST_KILL_AFTER_JOURNAL"

// KillAfterHandledEnv names a consumer and an alarm id ("workorders L1-1/entrapment"); when
// set, facilityd kills itself (SIGKILL) right after that consumer has applied that alarm's
// raise and before the journal records that it has: the delivery tests use it to check that
// the raise, delivered again after the restart, is not applied twice.
const KillAfterHandledEnv = "FACILITYD_TEST_KILL_AFTER_HANDLED"
