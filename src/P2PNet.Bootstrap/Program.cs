using P2PNet.Bootstrap;

return await BootstrapServer.RunAsync(args).ConfigureAwait(false);
