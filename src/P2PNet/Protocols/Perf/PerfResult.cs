namespace P2PNet.Protocols.Perf;

/// <summary>What one perf run measured.</summary>
/// <param name="UploadBytes">Bytes sent to the server.</param>
/// <param name="UploadTime">From the first upload byte until the half-close was sent.</param>
/// <param name="DownloadBytes">Bytes received back.</param>
/// <param name="DownloadTime">From the half-close until the last byte arrived (includes the server's turn-around).</param>
public readonly record struct PerfResult(ulong UploadBytes, TimeSpan UploadTime, ulong DownloadBytes, TimeSpan DownloadTime)
{
    /// <summary>Upload throughput in bytes per second (0 when nothing was sent).</summary>
    public double UploadBytesPerSecond => Rate(UploadBytes, UploadTime);

    /// <summary>Download throughput in bytes per second (0 when nothing was received).</summary>
    public double DownloadBytesPerSecond => Rate(DownloadBytes, DownloadTime);

    private static double Rate(ulong bytes, TimeSpan time) => bytes == 0 || time <= TimeSpan.Zero ? 0 : bytes / time.TotalSeconds;
}
