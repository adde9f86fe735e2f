using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using P2PNet.Peers;

namespace P2PNet.Hosting;

/// <summary>Registers a P2PNet node with a .NET host (<c>Host.CreateApplicationBuilder</c>, ASP.NET Core).</summary>
public static class P2PNetServiceCollectionExtensions
{
    /// <summary>
    /// Adds a <see cref="PeerNetwork"/> singleton, configured from the <paramref name="sectionName"/> section of the
    /// container's <c>IConfiguration</c> (see <see cref="P2PNetSettings"/>) and then by <paramref name="configure"/>
    /// (for what configuration cannot say: trust policy settings, an <see cref="Core.Identity"/> of your own, …), and a
    /// <see cref="PeerNetworkHostedService"/> that starts it with the host and stops it gracefully. The network logs
    /// through the container's <see cref="ILoggerFactory"/> and measures through its <see cref="IMeterFactory"/>
    /// (meters <c>P2PNet.Swarm</c> and <c>P2PNet.Peers</c>, see <see cref="Core.P2PNetTelemetry"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options built from configuration; null leaves them as they are.</param>
    /// <param name="sectionName">The configuration section; default <c>P2PNet</c>.</param>
    public static IServiceCollection AddP2PNet(this IServiceCollection services, Func<PeerNetworkOptions, PeerNetworkOptions>? configure = null,
        string sectionName = P2PNetSettings.SectionName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(sectionName);
        services.AddOptions<P2PNetSettings>().BindConfiguration(sectionName);
        services.TryAddSingleton(sp => new NodeIdentity(sp.GetRequiredService<IOptions<P2PNetSettings>>().Value.KeyFile));
        services.TryAddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<P2PNetSettings>>().Value;
            var options = settings.ToOptions() with { Identity = sp.GetRequiredService<NodeIdentity>().Value };
            if (configure is not null) options = configure(options);
            return new PeerNetwork(options, sp.GetService<ILoggerFactory>(), sp.GetService<IMeterFactory>());
        });
        services.AddHostedService<PeerNetworkHostedService>();
        return services;
    }
}
