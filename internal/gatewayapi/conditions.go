package gatewayapi

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition is a condition before it is stamped with a generation and a
// transition time.
type Condition struct {
	Type    string
	Status  metav1.ConditionStatus
	Reason  string
	Message string
}

// True and False build conditions tersely.
func True(condType, reason, message string) Condition {
	return Condition{Type: condType, Status: metav1.ConditionTrue, Reason: reason, Message: message}
}

// False builds a condition with status False.
func False(condType, reason, message string) Condition {
	return Condition{Type: condType, Status: metav1.ConditionFalse, Reason: reason, Message: message}
}

// Set writes c into conds with the given observedGeneration. The transition
// time only moves when the status changes, as the API conventions require.
func Set(conds *[]metav1.Condition, generation int64, c Condition) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               c.Type,
		Status:             c.Status,
		Reason:             c.Reason,
		Message:            c.Message,
		ObservedGeneration: generation,
	})
}
