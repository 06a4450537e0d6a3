package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

@JsonInclude(JsonInclude.Include.NON_NULL)
public record OutcomeResponse(String txid, Outcome outcome, String reason) {
}
