namespace P2PNet.Protocols.Relay;

/// <summary>
/// The limits a relay puts on one circuit: how long it lasts and how many bytes it carries in each direction;
/// null (or zero when configuring) means unlimited.
/// </summary>
/// <param name="Duration">Longest life of the circuit (whole seconds on the wire).</param>
/// <param name="Data">Most bytes relayed in each direction.</param>
public sealed record RelayLimit(TimeSpan? Duration, ulong? Data)
{
    /// <summary>True when neither limit is set.</summary>
    public bool IsUnlimited => Duration is null && Data is null;

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Duration is { } d ? $"{d.TotalSeconds:0.#} s" : "no time limit")}, {(Data is { } b ? $"{b} bytes each way" : "no data limit")}";
}
