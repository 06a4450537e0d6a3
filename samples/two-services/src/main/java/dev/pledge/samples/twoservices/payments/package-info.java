/** The payments service: joins the callers' global transactions (parked branches). */
package dev.pledge.samples.twoservices.payments;
