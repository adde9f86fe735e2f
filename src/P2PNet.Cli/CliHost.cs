using Microsoft.Extensions.Logging;
using P2PNet.Protocols.Identify;
using P2PNet.Swarm;

namespace P2PNet.Cli;

/// <summary>Services every short-lived command's host runs besides its own protocol.</summary>
internal static class CliHost
{
    /// <summary>
    /// Answers identify without asking it: a listen node asks every peer that connects, and warns when the request
    /// goes unanswered. Dispose it before the host.
    /// </summary>
    public static IdentifyService AnswerIdentify(SwarmHost host, ILoggerFactory loggers) =>
        new(host, new IdentifyOptions { IdentifyOnConnect = false }, loggers);
}
