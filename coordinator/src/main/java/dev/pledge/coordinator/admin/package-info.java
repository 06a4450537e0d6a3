/**
 * Operators' actions on prepared branches (heuristic COMMIT, ROLLBACK, FORGET) and the audit trail of
 * every heuristic and admin action, kept in the decision log itself.
 */
package dev.pledge.coordinator.admin;
