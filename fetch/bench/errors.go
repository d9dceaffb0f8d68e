package bench

import "errors"

// ErrScenario is a scenario name Run does not know.
var ErrScenario = errors.New("no such scenario")
