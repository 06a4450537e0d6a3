package dev.pledge.sdk.jta;

import dev.pledge.xa.ForwardingXAResource;

import javax.transaction.xa.XAResource;
import java.util.regex.Pattern;

/**
 * An {@link XAResource} with the name its resource manager is registered under at the coordinator
 * ({@code pledge.resources.<name>} there). {@link PledgeTransaction#enlistResource} takes only these:
 * the name goes into the branch id and tells the coordinator where to finish the branch if this
 * process dies (XA bridging). The SDK's pools ({@code dev.pledge.sdk.pool}) wrap their resources
 * themselves; wrap any other XAResource yourself.
 */
public final class NamedXAResource extends ForwardingXAResource {
    /** Resource names: what the coordinator accepts, short enough to leave room in a 64-character branch id. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,32}");

    private final String resourceName;

    public NamedXAResource(String resourceName, XAResource delegate) {
        super(delegate);
        this.resourceName = requireValidName(resourceName);
    }

    /** Checks a resource name, with a message naming the rule. */
    public static String requireValidName(String resourceName) {
        if (resourceName == null || !NAME.matcher(resourceName).matches()) {
            throw new IllegalArgumentException("resource name '" + resourceName + "' is invalid: use 1-32 characters"
                    + " of [A-Za-z0-9._-], the name the resource is registered under at the coordinator");
        }
        return resourceName;
    }

    public String resourceName() {
        return resourceName;
    }

    @Override
    public String toString() {
        return "NamedXAResource[" + resourceName + "]";
    }
}
