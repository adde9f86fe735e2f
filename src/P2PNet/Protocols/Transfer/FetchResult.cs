namespace P2PNet.Protocols.Transfer;

/// <summary>What a completed fetch did.</summary>
/// <param name="Path">The file written.</param>
/// <param name="Id">Its content id.</param>
/// <param name="Size">Its size.</param>
/// <param name="ResumedBytes">Bytes already verified in the partial file when the fetch began.</param>
/// <param name="FetchedBytes">Verified bytes received in this fetch.</param>
/// <param name="DiscardedBytes">Bytes received in groups that failed verification (their providers were dropped).</param>
/// <param name="DroppedProviders">How many providers were dropped.</param>
public sealed record FetchResult(string Path, ContentId Id, long Size, long ResumedBytes, long FetchedBytes, long DiscardedBytes, int DroppedProviders);
