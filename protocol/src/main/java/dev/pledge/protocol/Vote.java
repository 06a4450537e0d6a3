package dev.pledge.protocol;

/** A participant's answer to PREPARE. */
public enum Vote { COMMIT, READ_ONLY, ABORT }
