/** The orders service: begins the global transaction and calls payments in it. */
package dev.pledge.samples.twoservices.orders;
