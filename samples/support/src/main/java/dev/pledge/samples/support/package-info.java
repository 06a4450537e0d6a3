/**
 * Test support shared by the sample modules' end-to-end tests (test scope only; no sample depends on it at
 * run time): {@link dev.pledge.samples.support.Failpoint} and the XA wrappers that reach it,
 * {@link dev.pledge.samples.support.FailpointPools} (the Spring wiring that swaps a sample's pools for
 * wrapped ones), {@link dev.pledge.samples.support.SampleJvm} (a sample as a separate JVM that a test
 * SIGKILLs), and {@link dev.pledge.samples.support.SampleCoordinator} / {@link dev.pledge.samples.support.Databases}
 * (the real coordinator and PostgreSQL as the tests set them up). Depends on the participant SDK and the testkit.
 */
package dev.pledge.samples.support;
