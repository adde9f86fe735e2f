namespace P2PNet.Protocols.Transfer;

/// <summary>One request: groups [<paramref name="FirstGroup"/>, +<paramref name="GroupCount"/>) of <paramref name="Id"/>, with the ticket secret if any.</summary>
/// <param name="Id">What to fetch.</param>
/// <param name="Secret">The ticket's 16-byte secret, or empty.</param>
/// <param name="FirstGroup">First 16 KiB group.</param>
/// <param name="GroupCount">Number of groups, at least one.</param>
public sealed record TransferRequest(ContentId Id, ReadOnlyMemory<byte> Secret, long FirstGroup, long GroupCount);
