using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using P2PNet.Core;

namespace P2PNet.Muxers.Yamux;

/// <summary>yamux (<c>/yamux/1.0.0</c>) as an <see cref="IStreamMuxerFactory"/> for the upgrader.</summary>
public sealed class YamuxMuxerFactory : IStreamMuxerFactory
{
    private readonly YamuxOptions _options;
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>Creates the factory; every session gets <paramref name="options"/> (<see cref="YamuxOptions.Default"/> when null).</summary>
    public YamuxMuxerFactory(YamuxOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? YamuxOptions.Default;
        _options.Validate();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <inheritdoc />
    public string ProtocolId => YamuxSession.ProtocolId;

    /// <inheritdoc />
    public IStreamMuxer Create(Stream secured, bool isInitiator) =>
        new YamuxSession(secured, isInitiator, _options, _loggerFactory.CreateLogger<YamuxSession>());
}
