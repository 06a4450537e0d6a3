package dev.pledge.protocol;

/** The decision a commit request gets back. */
public enum Outcome { COMMITTED, ABORTED }
