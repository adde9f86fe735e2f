using P2PNet.Core;

namespace P2PNet.Discovery.Mdns;

/// <summary>A DNS message that cannot be encoded or decoded, typed by <see cref="Error"/>.</summary>
internal sealed class DnsFormatException : P2PNetException
{
    /// <summary>Creates the exception.</summary>
    public DnsFormatException(DnsFormatError error, string message) : base(message) => Error = error;

    /// <summary>Creates the exception with an inner cause.</summary>
    public DnsFormatException(DnsFormatError error, string message, Exception? inner) : base(message, inner) => Error = error;

    /// <summary>What went wrong.</summary>
    public DnsFormatError Error { get; }
}
