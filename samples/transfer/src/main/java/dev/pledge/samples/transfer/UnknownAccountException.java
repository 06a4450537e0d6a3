package dev.pledge.samples.transfer;

/** A transfer named an account its bank does not have; the whole transfer rolls back. */
public class UnknownAccountException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnknownAccountException(String bank, int account) {
        super("bank " + bank + " has no account " + account);
    }
}
