namespace P2PNet.Protocols.Transfer;

/// <summary>A snapshot of a fetch.</summary>
/// <param name="BytesVerified">Bytes verified so far, including those resumed from an earlier run.</param>
/// <param name="TotalBytes">File size.</param>
/// <param name="BytesPerSecond">Recent verified rate.</param>
/// <param name="Providers">Providers still in use.</param>
/// <param name="Eta">Estimated time left, when there is a rate to go by.</param>
public readonly record struct TransferProgress(long BytesVerified, long TotalBytes, double BytesPerSecond, int Providers, TimeSpan? Eta);
