// Package controllers holds Drawbridge's reconcilers. They are thin: each
// reads what one reconcile needs into a scope, calls the pure packages under
// internal/ to decide, writes objects with server-side apply, and patches
// status once at the end.
package controllers

// FieldManager is the server-side-apply field manager for everything the
// operator writes.
const FieldManager = "drawbridge"
