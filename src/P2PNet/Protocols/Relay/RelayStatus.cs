namespace P2PNet.Protocols.Relay;

/// <summary>The status codes of circuit relay v2 (wire values of the spec's <c>Status</c> enum).</summary>
public enum RelayStatus
{
    /// <summary>Not set (never sent by a correct peer).</summary>
    Unused = 0,

    /// <summary>The request succeeded.</summary>
    Ok = 100,

    /// <summary>The relay refused the reservation.</summary>
    ReservationRefused = 200,

    /// <summary>A relay limit (reservations, circuits, rate) was hit.</summary>
    ResourceLimitExceeded = 201,

    /// <summary>The relay does not allow this.</summary>
    PermissionDenied = 202,

    /// <summary>The relay could not reach the target, or the target declined.</summary>
    ConnectionFailed = 203,

    /// <summary>The target has no reservation on the relay.</summary>
    NoReservation = 204,

    /// <summary>The message did not parse or lacked a required field.</summary>
    MalformedMessage = 400,

    /// <summary>The message type was not expected here.</summary>
    UnexpectedMessage = 401,
}
