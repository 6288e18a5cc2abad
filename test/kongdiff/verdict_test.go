package kongdiff

// Verdicts: what a data plane says to POST /config.

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/drawbridge-dev/drawbridge/internal/dataplane"
)

// verdict is a data plane's answer to one configuration, reduced to what
// must agree: the status and, for a rejection, the entities it names.
type verdict struct {
	status   int
	entities []string // "<type> <name>", sorted
	detail   string   // Kong's messages, for the log only
	body     string   // the raw answer (truncated), for the log only
}

func newVerdict(status int, body []byte) verdict {
	v := verdict{status: status, body: string(body)}
	if len(v.body) > 1500 {
		v.body = v.body[:1500] + "..."
	}
	if status == http.StatusCreated {
		return v
	}
	ce := dataplane.ParseConfigError(status, body)
	var details []string
	for _, e := range ce.Entities {
		name := e.EntityName
		if name == "" {
			name = "(unnamed)"
		}
		v.entities = append(v.entities, e.EntityType+" "+name)
		for _, f := range e.Errors {
			details = append(details, e.EntityType+" "+name+": "+f.String())
		}
	}
	sort.Strings(v.entities)
	if len(details) == 0 {
		details = append(details, ce.Message)
	}
	v.detail = strings.Join(details, "; ")
	return v
}

// String is the form compared and listed in known-differences.yaml.
func (v verdict) String() string {
	if len(v.entities) == 0 {
		return fmt.Sprint(v.status)
	}
	return fmt.Sprintf("%d rejects %s", v.status, strings.Join(v.entities, ", "))
}
